// The posyandu story through the generated Kotlin bindings on the JVM (JNA loads libtimbang_ffi),
// on real encrypted SQLite files. Run by bindings/ffi/tests/bindings.rs. Synthetic people only.
package org.timbang.core

import java.io.File
import java.nio.file.Files
import java.security.SecureRandom
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import org.junit.After
import org.junit.Test

const val TODAY = "2025-06-15"

fun key(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

/** One direction of an in-memory byte pipe. An empty chunk means closed, and stays. */
class Pipe {
    private val q = LinkedBlockingQueue<ByteArray>()
    private var pending = ByteArray(0)

    fun put(data: ByteArray) = q.put(data.copyOf())

    fun close() = q.put(ByteArray(0))

    fun take(max: Int): ByteArray {
        if (pending.isEmpty()) {
            pending = q.poll(30, TimeUnit.SECONDS) ?: throw StreamException.TimedOut()
            if (pending.isEmpty()) {
                q.put(pending)
                return pending
            }
        }
        val n = minOf(max, pending.size)
        val out = pending.copyOfRange(0, n)
        pending = pending.copyOfRange(n, pending.size)
        return out
    }
}

/** The host transport, in Kotlin: what the Bluetooth socket is on the phone. */
class PipeEnd(private val inbound: Pipe, private val outbound: Pipe) : ByteStream {
    @Volatile var pairedCalled = false

    override fun read(max: UInt): ByteArray = inbound.take(max.toInt())

    override fun write(data: ByteArray) = outbound.put(data)

    override fun paired() {
        pairedCalled = true
    }
}

/** One session: `acceptor` on a thread, `dialer` here; the dialer's report. */
fun sync(dialer: Timbang, acceptor: Timbang): PeerReport {
    val ab = Pipe()
    val ba = Pipe()
    var served: Result<PeerReport>? = null
    val t = thread {
        served = runCatching { acceptor.peerSession(PipeEnd(ab, ba), PeerRole.ACCEPT) }
        ab.close()
        ba.close()
    }
    try {
        return dialer.peerSession(PipeEnd(ba, ab), PeerRole.DIAL).also {
            t.join(60_000)
            served!!.getOrThrow()
        }
    } finally {
        ab.close()
        ba.close()
        t.join(60_000)
    }
}

fun child(name: String, dob: String, sex: Sex = Sex.FEMALE) = NewChild(name = name, sex = sex, birthDate = dob)

fun weighing(date: String, kg: String, cm: String? = null) =
    VisitEntry(date = date, weightKg = kg, heightCm = cm, position = cm?.let { Position.LYING })

class StoryTest {
    private val dir: File = Files.createTempDirectory("timbang-kt").toFile()
    private val k = key()
    private val path = File(dir, "hp1.db").path
    private val a = Timbang.open(path, k, TODAY).also { it.init("Posyandu Melati", "Sukamaju", "hp-1") }

    @After
    fun cleanUp() {
        a.close()
        dir.deleteRecursively()
    }

    private fun secondPhone(): Timbang {
        val b = Timbang.open(File(dir, "hp2.db").path, key(), TODAY)
        b.teamJoin(a.teamInvite(), "hp-2")
        return b
    }

    @Test
    fun registerRecordAndList() {
        val budi = a.registerChild(child("Budi Santoso", "2024-01-10", Sex.MALE), false)
        val twin = child("Budi Santosa", "2024-01-12", Sex.MALE)
        assertEquals(listOf(budi.childId), a.possibleDuplicates(twin).map { it.childId })
        val dup = assertFailsWith<TimbangException.NeedsConfirmation> { a.registerChild(twin, false) }
        assertEquals(listOf("possible_duplicate"), dup.reasons.map { it.code })
        assertEquals(1, a.villageList().size)

        val r = a.recordVisit(budi.childId, weighing("2025-05-14", "9,1", "76.5"), false)
        assertEquals(16u, r.assessment.ageMonths)
        assertEquals("B", r.assessment.kms)
        assertTrue(r.assessment.waz!! > -3 && r.assessment.waz!! < 3)

        val ask = assertFailsWith<TimbangException.NeedsConfirmation> {
            a.recordVisit(budi.childId, weighing("2025-06-14", "6.5"), false)
        }
        assertTrue(ask.reasons.any { it.field == "weight_kg" })
        assertEquals(1, a.child(budi.childId).visits.size, "nothing written")
        assertEquals("T", a.recordVisit(budi.childId, weighing("2025-06-14", "6.5"), true).assessment.kms)

        val rows = a.villageList()
        assertEquals("T", rows[0].kms)
        assertTrue(rows[0].referral.isNotEmpty())
        assertEquals(listOf("2025-05-14", "2025-06-14"), a.child(budi.childId).visits.map { it.date })
        Timbang.open(path, k, TODAY).use { assertEquals(1, it.villageList().size) }
    }

    @Test
    fun errorsCrossWithTheirFields() {
        val kid = a.registerChild(child("Rina Putri", "2024-05-01"), false).childId
        val bad = assertFailsWith<TimbangException.InvalidInput> {
            a.recordVisit(kid, weighing("2025-06-14", "-1"), false)
        }
        assertEquals("weight_kg", bad.field)
        assertTrue(bad.messageId.contains("negatif"))
        assertEquals(
            "date",
            assertFailsWith<TimbangException.InvalidInput> {
                a.recordVisit(kid, weighing("2025-06-16", "8.0"), false)
            }.field,
        )
        val missing = "01900000-0000-7000-8000-000000000000"
        val nf = assertFailsWith<TimbangException.NotFound> { a.child(missing) }
        assertEquals("child" to missing, nf.what to nf.id)
        assertEquals("key", assertFailsWith<TimbangException.InvalidInput> { Timbang.open(path, ByteArray(5), TODAY) }.field)
        assertFailsWith<TimbangException.WrongKey> { Timbang.open(path, key(), TODAY) }
        Timbang.open(File(dir, "new.db").path, key(), TODAY).use {
            assertFailsWith<TimbangException.NotInitialized> { it.registerChild(child("Rina Putri", "2024-05-01"), false) }
        }
    }

    @Test
    fun twoPhonesSyncAConflictAndItsResolution() {
        val b = secondPhone()
        val told = AtomicInteger()
        b.setChangeListener(object : ChangeListener {
            override fun changed() {
                told.incrementAndGet()
            }
        })
        val kid = a.registerChild(child("Dewi Lestari", "2024-02-01"), false).childId
        a.recordVisit(kid, weighing("2025-05-10", "8.2"), false)
        val pulled = sync(b, a)
        assertTrue(pulled.completed)
        assertEquals(1uL, pulled.docsReceived)
        assertTrue(told.get() >= 1)

        a.recordVisit(kid, weighing("2025-06-14", "8.6"), false)
        b.recordVisit(kid, weighing("2025-06-14", "8.9"), false)
        sync(b, a)
        for (phone in listOf(a, b)) {
            val c = phone.conflicts().single()
            assertEquals("weight_kg", c.field)
            assertEquals(listOf("8.6", "8.9"), c.values.sorted())
        }
        b.resolve(b.conflicts().single().conflictId, "8.9")
        sync(b, a)
        assertEquals(emptyList(), a.conflicts())
        assertEquals(8.9, a.child(kid).visits.last().weightKg)
        assertEquals(a.villageList(), b.villageList())
        b.setChangeListener(null)
        b.close()
    }

    @Test
    fun interruptStopsASessionAndTheNextFetchesTheRest() {
        // Enough children that they travel in more than one frame (a frame's documents are stored in
        // as few transactions as a time slice allows).
        val header = "name,sex,birth_date,nik,kk,mother_name,mother_nik,address,visit_date,weight_kg,height_cm,measured,head_circ_cm,muac_cm"
        val rows = (0 until 300).flatMap { i ->
            val born = java.time.LocalDate.of(2023, 1, 1).plusDays(i.toLong())
            listOf(4, 5, 6).map { m -> "Anak Uji $i,P,$born,,,,,,2025-0$m-10,${8 + i % 3}.$m,,,," }
        }
        val n = a.importRegister("register.csv", (listOf(header) + rows).joinToString("\n", postfix = "\n").toByteArray(), null)
            .children.toInt()
        assertTrue(n > 250, "$n")
        val b = secondPhone()
        val handle = b.interruptHandle()
        val calls = AtomicInteger()
        b.setChangeListener(object : ChangeListener {
            override fun changed() {
                if (calls.incrementAndGet() == 1) handle.interrupt()
            }
        })
        assertFailsWith<TimbangException.Interrupted> { sync(b, a) }
        val part = b.villageList().size
        assertTrue(part in 1 until n, "$part of $n")
        b.setChangeListener(null)
        assertEquals((n - part).toULong(), sync(b, a).docsReceived)
        assertEquals(n, b.villageList().size)
        b.close()
    }
}
