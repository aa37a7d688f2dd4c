// Per-call cost of the Kotlin bindings on the JVM (scripts/bench_ffi.sh runs it). Synthetic data only.
import java.nio.file.Files
import java.security.SecureRandom
import org.timbang.core.NewChild
import org.timbang.core.Sex
import org.timbang.core.Timbang
import org.timbang.core.VisitEntry

fun perCall(n: Int, f: () -> Unit): Double {
    repeat(n) { f() } // warm-up (JIT)
    var best = Double.MAX_VALUE
    repeat(5) {
        val t0 = System.nanoTime()
        repeat(n) { f() }
        best = minOf(best, (System.nanoTime() - t0).toDouble() / n)
    }
    return best / 1000.0
}

fun main() {
    val dir = Files.createTempDirectory("bench-ffi").toFile()
    val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
    Timbang.open(dir.resolve("bench.db").path, key, "2025-06-15").use { db ->
        db.init("Posyandu Melati", "Sukamaju", "hp-1")
        val ids = (0 until 100).map { db.registerChild(NewChild("Anak Nomor $it", Sex.FEMALE, "2024-05-02"), true).childId }
        for (m in 6..12) db.recordVisit(ids[0], VisitEntry(date = "2024-%02d-20".format(m), weightKg = "%.1f".format(3.5 + 0.5 * m)), true)
        for (m in 1..6) db.recordVisit(ids[0], VisitEntry(date = "2025-%02d-10".format(m), weightKg = "%.1f".format(6.5 + 0.3 * m)), true)
        println("java ${System.getProperty("java.version")}")
        println("setKader(null): the crossing: %.1f us".format(perCall(20000) { db.setKader(null) }))
        println("villageList(), 100 children: %.1f us".format(perCall(200) { db.villageList() }))
        println("child(id), 13 visits: %.1f us".format(perCall(500) { db.child(ids[0]) }))
    }
    dir.deleteRecursively()
}
