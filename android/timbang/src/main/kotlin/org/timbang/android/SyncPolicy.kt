// What a background sync does with the core's answer. Pure JVM; the WorkManager worker uses it.
package org.timbang.android

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
