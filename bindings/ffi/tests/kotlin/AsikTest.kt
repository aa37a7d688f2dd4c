// ASIK sync and the reports through the generated Kotlin bindings on the JVM, with the host's HTTP
// written in Kotlin (org.timbang.android.UrlConnectionHttp, java.net.HttpURLConnection), against the
// SATUSEHAT test double bindings/ffi/tests/bindings.rs starts (its URLs in ASIK_* variables).
// Synthetic people only.
package org.timbang.core

import java.io.File
import java.net.ServerSocket
import java.nio.file.Files
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.After
import org.junit.Test
import org.timbang.android.UrlConnectionHttp

fun asikConfig(
    baseUrl: String = System.getenv("ASIK_BASE_URL"),
    authUrl: String = System.getenv("ASIK_AUTH_URL"),
    secret: String = System.getenv("ASIK_CLIENT_SECRET"),
) = AsikConfig(
    baseUrl = baseUrl,
    authUrl = authUrl,
    clientId = System.getenv("ASIK_CLIENT_ID"),
    clientSecret = secret,
    orgId = System.getenv("ASIK_ORG_ID"),
)

class AsikTest {
    private val dir: File = Files.createTempDirectory("timbang-kt-asik").toFile()
    private val db = Timbang.open(File(dir, "hp1.db").path, key(), TODAY).also { it.init("Posyandu Melati", "Sukamaju", "hp-1") }

    @After
    fun cleanUp() {
        db.close()
        dir.deleteRecursively()
    }

    private fun register(i: Int): String =
        db.registerChild(
            NewChild(name = "Anak Kotlin $i", sex = Sex.FEMALE, birthDate = "2024-03-0$i", motherName = "Ibu Kotlin", motherNik = "33010150019001%02d".format(i)),
            true,
        ).childId

    @Test
    fun visitsGoUpOnceThroughAKotlinHttpClient() {
        for (i in 1..2) {
            val kid = register(i)
            db.recordVisit(kid, VisitEntry(date = "2025-05-10", weightKg = "7.8"), true)
            db.recordVisit(kid, VisitEntry(date = "2025-06-14", weightKg = "8.1", heightCm = "70.5", position = Position.LYING), true)
        }
        assertEquals(4u, db.asikStatus().pending)
        val report = db.asikSync(UrlConnectionHttp(), asikConfig(), SyncReason.MANUAL, 60_000uL)
        assertEquals(4u, report.sent, "$report")
        assertEquals(0u, report.pending)
        assertNull(report.stopped)
        assertTrue(report.requests >= 2u, "a token, then the bundles")
        assertEquals(4u, db.asikStatus().sent)
        assertEquals(0u, db.asikSync(UrlConnectionHttp(), asikConfig(), SyncReason.PERIODIC, 60_000uL).sent, "nothing twice")

        // A report from the same database: both weighed in June, both gaining.
        val skdn = db.skdn("2025-06")
        assertEquals(listOf(2u, 2u), listOf(skdn.s, skdn.d))
        assertTrue(skdn.identityHolds)
        assertEquals(listOf("Posyandu Melati"), db.skdnByPosyandu("2025-06").map { it.posyandu })
        assertTrue(db.warnings().none { it.code == "2T" })
    }

    @Test
    fun asikFailuresAreNamedAsAsik() {
        db.recordVisit(register(3), VisitEntry(date = "2025-06-14", weightKg = "8.4"), false)
        val port = ServerSocket(0).use { it.localPort }
        val closed = "http://127.0.0.1:$port"
        val down =
            assertFailsWith<TimbangException.Network> {
                db.asikSync(UrlConnectionHttp(), asikConfig(baseUrl = "$closed/fhir", authUrl = "$closed/oauth2"), SyncReason.CONNECTIVITY, 5_000uL)
            }
        assertEquals(NetworkService.ASIK, down.service)
        assertTrue(down.retryable)
        assertTrue(down.messageId.startsWith("Server ASIK"), down.messageId)
        val refused =
            assertFailsWith<TimbangException.Network> {
                db.asikSync(UrlConnectionHttp(), asikConfig(secret = "salah"), SyncReason.MANUAL, 30_000uL)
            }
        assertEquals(NetworkService.ASIK, refused.service)
        assertFalse(refused.retryable)
        assertEquals(1u, db.asikStatus().pending, "still pending")
    }
}
