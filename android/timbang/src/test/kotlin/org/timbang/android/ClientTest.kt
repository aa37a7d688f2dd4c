// The JVM-testable half of the Android library: the wrapper's Flow and cancellation, the wrapped key
// file, the stream transport (over TCP here, a Bluetooth socket on the phone), the sync decisions.
// Run by bindings/ffi/tests/bindings.rs with the generated bindings. Synthetic people only.
package org.timbang.android

import java.io.File
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Files
import javax.crypto.AEADBadTagException
import javax.crypto.KeyGenerator
import kotlin.concurrent.thread
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Test
import org.timbang.core.AsikConfig
import org.timbang.core.NetworkService
import org.timbang.core.NewChild
import org.timbang.core.PeerReport
import org.timbang.core.PeerRole
import org.timbang.core.RelayConfig
import org.timbang.core.Sex
import org.timbang.core.TimbangException
import org.timbang.core.VisitEntry

class ClientTest {
    private val dir: File = Files.createTempDirectory("timbang-android").toFile()
    private val wrapping = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    @After
    fun cleanUp() {
        dir.deleteRecursively()
    }

    private fun keys(name: String = "db.key") = WrappedKeyFile(File(dir, name)) { wrapping }

    private suspend fun phone(name: String): TimbangClient = TimbangClient.open(File(dir, "$name.db").path, keys("$name.key"))

    @Test
    fun theWrappedKeyIsStableSealedAndRefusedUnderAnotherKey() {
        val k = keys()
        val first = k.databaseKey()
        assertEquals(32, first.size)
        assertTrue(first.contentEquals(k.databaseKey()))
        val blob = File(dir, "db.key").readBytes()
        assertFalse(blob.toList().windowed(32).any { it.toByteArray().contentEquals(first) }, "the key is not stored in clear")
        val other = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
        assertFailsWith<AEADBadTagException> { WrappedKeyFile(File(dir, "db.key")) { other }.databaseKey() }
        blob[20] = (blob[20].toInt() xor 1).toByte()
        File(dir, "altered.key").writeBytes(blob)
        assertFailsWith<AEADBadTagException> { keys("altered.key").databaseKey() }
    }

    @Test
    fun theVillageListFlowFollowsEveryChange() =
        runBlocking(Dispatchers.IO) {
            val path = File(dir, "hp1.db").path
            TimbangClient.open(path, keys()).use { c ->
                c.init("Posyandu Melati", "Sukamaju", "hp-1")
                val seen = java.util.concurrent.CopyOnWriteArrayList<Int>()
                val collector = async { c.villageList().first { seen.add(it.size); it.size == 2 } }
                withTimeout(30_000) { while (seen.isEmpty()) delay(5) }
                c.registerChild(NewChild("Budi Santoso", Sex.MALE, "2024-01-10"))
                c.registerChild(NewChild("Sari Wulandari", Sex.FEMALE, "2023-03-02"))
                val last = withTimeout(30_000) { collector.await() }
                assertEquals(0, seen.first(), "the list as it was when collection began")
                assertEquals(seen.sorted(), seen.toList(), "then each change, in order (slow collectors skip)")
                assertEquals(listOf("Budi Santoso", "Sari Wulandari"), last.map { it.name }.sorted())
            }
            // The same key opens the same database again.
            TimbangClient.open(path, keys()).use { assertEquals(2, it.villageList().first().size) }
        }

    /** A session over TCP through StreamByteStream; `serve` on a thread, `dial` here. */
    private suspend fun tcpSession(dial: TimbangClient, serve: TimbangClient): PeerReport {
        ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { server ->
            var served: Result<PeerReport>? = null
            val t =
                thread {
                    served =
                        runCatching {
                            server.accept().use { s -> runBlocking { serve.peerSession(StreamByteStream(s.getInputStream(), s.getOutputStream(), s), PeerRole.ACCEPT) } }
                        }
                }
            Socket(server.inetAddress, server.localPort).use { s ->
                val report = dial.peerSession(StreamByteStream(s.getInputStream(), s.getOutputStream(), s), PeerRole.DIAL)
                t.join(60_000)
                served!!.getOrThrow()
                return report
            }
        }
    }

    @Test
    fun twoPhonesSyncOverTheStreamTransportAndCancellingInterrupts() =
        runBlocking(Dispatchers.IO) {
            val a = phone("hp1")
            a.init("Posyandu Melati", "Sukamaju", "hp-1")
            repeat(600) { a.registerChild(NewChild("Anak Uji $it", Sex.FEMALE, "2024-03-01"), confirm = true) }
            val b = phone("hp2")
            b.teamJoin(a.teamInvite(), "hp-2")

            // Cancel B's session as soon as the first batch is stored: the core is interrupted.
            val session = launch { runCatching { tcpSession(b, a) } }
            withTimeout(60_000) { b.villageList().first { it.isNotEmpty() } }
            session.cancel()
            session.join()
            val part = b.villageList().first().size
            assertTrue(part in 1..599, "$part of 600 arrived before the cancel")

            val report = tcpSession(b, a)
            assertTrue(report.completed)
            assertEquals((600 - part).toULong(), report.docsReceived)
            assertEquals(600, b.villageList().first().size)
            a.close()
            b.close()
        }

    @Test
    fun aSilentStrangerIsDroppedByTheHandshakeWatchdog() =
        runBlocking(Dispatchers.IO) {
            val a = phone("hp1")
            a.init("Posyandu Melati", "Sukamaju", "hp-1")
            a.teamInvite()
            ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { server ->
                Socket(server.inetAddress, server.localPort).use { _ ->
                    server.accept().use { s ->
                        val e =
                            assertFailsWith<TimbangException.Network> {
                                a.peerSession(StreamByteStream(s.getInputStream(), s.getOutputStream(), s, handshakeTimeoutMs = 300), PeerRole.ACCEPT)
                            }
                        assertTrue(e.retryable)
                    }
                }
            }
            a.close()
        }

    @Test
    fun syncDecisions() {
        assertEquals(SyncDecision.SUCCESS, decisionFor(null))
        assertEquals(SyncDecision.RETRY, decisionFor(TimbangException.Network(NetworkService.PEER, true, "coba lagi", "closed")))
        assertEquals(SyncDecision.FAILURE, decisionFor(TimbangException.Network(NetworkService.PEER, false, "bukan tim", "not paired")))
        assertEquals(SyncDecision.RETRY, decisionFor(TimbangException.Interrupted("dihentikan")))
        assertEquals(SyncDecision.FAILURE, decisionFor(TimbangException.WrongKey("kunci")))
        assertEquals(SyncDecision.RETRY, worst(SyncDecision.FAILURE, SyncDecision.RETRY))
        assertEquals(SyncDecision.FAILURE, worst(SyncDecision.SUCCESS, SyncDecision.FAILURE))
        assertEquals(SyncDecision.SUCCESS, worst(SyncDecision.SUCCESS, SyncDecision.SUCCESS))
    }

    private fun asik(secret: String = System.getenv("ASIK_CLIENT_SECRET")) =
        AsikConfig(
            baseUrl = System.getenv("ASIK_BASE_URL"),
            authUrl = System.getenv("ASIK_AUTH_URL"),
            clientId = System.getenv("ASIK_CLIENT_ID"),
            clientSecret = secret,
            orgId = System.getenv("ASIK_ORG_ID"),
        )

    /** The worker's job on the JVM: the ASIK upload through the Kotlin HTTP client, then the relay. */
    @Test
    fun theSyncJobUploadsThenAsksForARetryWhenTheRelayIsDown() =
        runBlocking<Unit>(Dispatchers.IO) {
            phone("hp1").use { c ->
                c.init("Posyandu Melati", "Sukamaju", "hp-1")
                c.teamInvite()
                val kid = c.registerChild(NewChild("Anak Job", Sex.MALE, "2024-02-02", motherName = "Ibu Job", motherNik = "3301015001900201"), confirm = true).childId
                c.recordVisit(kid, VisitEntry(date = "2025-06-14", weightKg = "9.0"), confirm = true)
                val port = ServerSocket(0).use { it.localPort }
                val down = RelayConfig(url = "http://127.0.0.1:$port", bucket = "timbang", accessKey = "relay:tester", secretKey = "rahasia")
                var relay: RelayConfig? = null
                val job = CoreSyncJob(c, UrlConnectionHttp(), { asik() }, { relay })
                assertEquals(SyncDecision.SUCCESS, job.run(60_000))
                assertEquals(1u, c.asikStatus().sent)
                relay = down
                assertEquals(SyncDecision.RETRY, job.run(60_000), "the relay is unreachable: retry")
                val e = assertFailsWith<TimbangException.Network> { c.relaySync(UrlConnectionHttp(), down) }
                assertEquals(NetworkService.RELAY, e.service)
                assertTrue(e.retryable)
            }
            // Wrong ASIK credentials on a fresh phone with something pending, and no relay: a person must act.
            phone("hp2").use { c ->
                c.init("Posyandu Mawar", "Sukamaju", "hp-2")
                val kid = c.registerChild(NewChild("Anak Job Dua", Sex.MALE, "2024-02-03", motherName = "Ibu Job", motherNik = "3301015001900202"), confirm = true).childId
                c.recordVisit(kid, VisitEntry(date = "2025-06-14", weightKg = "9.1"), confirm = true)
                assertEquals(SyncDecision.FAILURE, CoreSyncJob(c, UrlConnectionHttp(), { asik("salah") }, { null }).run(60_000))
                assertEquals(1u, c.asikStatus().pending)
            }
        }

    @Test
    fun reportsAndTheImportThroughTheWrapper() =
        runBlocking<Unit>(Dispatchers.IO) {
            phone("hp1").use { c ->
                c.init("Posyandu Melati", "Sukamaju", "hp-1")
                val csv =
                    (
                        "name,sex,birth_date,nik,kk,mother_name,mother_nik,address,visit_date,weight_kg,height_cm,measured,head_circ_cm,muac_cm\n" +
                            "Sari Impor,P,2024-01-05,,,,,,2025-05-10,8.1,72.0,lying,,\n" +
                            "Sari Impor,P,2024-01-05,,,,,,2025-06-10,8.4,73.0,lying,,\n" +
                            "Tono Impor,L,2024-02-02,,,,,,2025-06-10,8.9,,,,\n"
                    ).toByteArray()
                val seen = java.util.concurrent.CopyOnWriteArrayList<Pair<Long, Long>>()
                val r = c.importRegister("register.csv", csv) { done, total -> seen.add(done to total) }
                assertEquals(listOf(2uL, 3uL, 0uL), listOf(r.children, r.visits, r.skipped))
                assertEquals(0L to 2L, seen.first())
                assertEquals(2L to 2L, seen.last())
                val s = c.skdn("2025-06")
                assertEquals(listOf(2u, 2u), listOf(s.s, s.d))
                assertEquals(1, c.skdnByPosyandu("2025-06").size)
                val sari = c.villageList().first().first { it.name == "Sari Impor" }.childId
                val chart = c.growthChart(sari)
                assertTrue(chart.svg.contains("</svg>"))
                assertEquals(listOf(8.1, 8.4), chart.points.map { it.weightKg })
                val out = File(dir, "register.csv")
                assertEquals(2u, c.exportRegister("2025-06", out.path).rows)
                assertTrue(out.readText().contains("Tono Impor"))
                c.warnings()
            }
        }
}
