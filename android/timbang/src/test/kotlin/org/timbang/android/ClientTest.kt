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
import org.timbang.core.NewChild
import org.timbang.core.PeerReport
import org.timbang.core.PeerRole
import org.timbang.core.Sex
import org.timbang.core.TimbangException

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
        assertEquals(SyncDecision.RETRY, decisionFor(TimbangException.Network(true, "coba lagi", "closed")))
        assertEquals(SyncDecision.FAILURE, decisionFor(TimbangException.Network(false, "bukan tim", "not paired")))
        assertEquals(SyncDecision.RETRY, decisionFor(TimbangException.Interrupted("dihentikan")))
        assertEquals(SyncDecision.FAILURE, decisionFor(TimbangException.WrongKey("kunci")))
    }
}
