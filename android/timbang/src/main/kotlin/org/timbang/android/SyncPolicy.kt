// What a background sync does with the core's answer. Pure JVM; the WorkManager worker uses it.
package org.timbang.android

import org.timbang.core.AsikConfig
import org.timbang.core.HttpClient
import org.timbang.core.RelayConfig
import org.timbang.core.SyncReason
import org.timbang.core.TimbangException

enum class SyncDecision {
    /** Done (or nothing was pending). */
    SUCCESS,

    /** Try again later with backoff: no signal, a dropped link, the deadline or an interrupt. */
    RETRY,

    /** Someone must change something (pairing, a rejected record, storage): do not retry blindly. */
    FAILURE,
}

fun decisionFor(error: Throwable?): SyncDecision =
    when (error) {
        null -> SyncDecision.SUCCESS
        is TimbangException.Network -> if (error.retryable) SyncDecision.RETRY else SyncDecision.FAILURE
        is TimbangException.Interrupted -> SyncDecision.RETRY
        else -> SyncDecision.FAILURE
    }

/** Of two parts of one background run, what the run asks for: a retry if either part can succeed
 *  later (so a wrong ASIK secret does not stop the relay from being retried), else a failure if
 *  either failed. */
fun worst(a: SyncDecision, b: SyncDecision): SyncDecision =
    when {
        a == SyncDecision.RETRY || b == SyncDecision.RETRY -> SyncDecision.RETRY
        a == SyncDecision.FAILURE || b == SyncDecision.FAILURE -> SyncDecision.FAILURE
        else -> SyncDecision.SUCCESS
    }

/** What the background worker runs (platform/SyncWorker.kt); the Application provides it. */
fun interface SyncJob {
    /** Work within [deadlineMs]; the answer tells WorkManager what to do next. */
    suspend fun run(deadlineMs: Long): SyncDecision

    interface Provider {
        fun syncJob(): SyncJob
    }
}

/**
 * The usual job: the ASIK upload, then the relay, each only when the app has its settings now
 * ([asik], [relay] are read at every run; the secrets come from the app's own store). An upload stopped
 * by the deadline with visits still pending asks for a retry; each part's error goes through
 * [decisionFor], and the run's answer is [worst] of the two. Pure JVM.
 */
class CoreSyncJob(
    private val client: TimbangClient,
    private val http: HttpClient,
    private val asik: () -> AsikConfig?,
    private val relay: () -> RelayConfig?,
    private val clock: () -> Long = System::currentTimeMillis,
) : SyncJob {
    override suspend fun run(deadlineMs: Long): SyncDecision {
        val end = clock() + deadlineMs
        var decision = SyncDecision.SUCCESS
        asik()?.let { config ->
            decision =
                try {
                    val report = client.asikSync(http, config, SyncReason.CONNECTIVITY, deadlineMs)
                    if (report.stopped != null && report.pending > 0u) SyncDecision.RETRY else SyncDecision.SUCCESS
                } catch (e: TimbangException) {
                    decisionFor(e)
                }
        }
        relay()?.let { config ->
            val part =
                if (clock() >= end) {
                    SyncDecision.RETRY
                } else {
                    try {
                        client.relaySync(http, config)
                        SyncDecision.SUCCESS
                    } catch (e: TimbangException) {
                        decisionFor(e)
                    }
                }
            decision = worst(decision, part)
        }
        return decision
    }
}
