// Android only (needs the SDK and WorkManager): background sync when the network returns.
package org.timbang.android.platform

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.withTimeoutOrNull
import org.timbang.android.SyncDecision
import org.timbang.android.SyncJob
import org.timbang.android.decisionFor

/**
 * Runs the app's [SyncJob] (usually `CoreSyncJob`: the ASIK upload, then the relay) once the network
 * is back. The job gets the deadline WorkManager allows (the core stops at it and keeps what it
 * finished); cancellation by WorkManager interrupts the core (TimbangClient.interruptible). The job's
 * [SyncDecision], or [decisionFor] of what it threw: retryable failures retry with exponential
 * backoff, the rest wait for a person.
 */
class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    override suspend fun doWork(): Result {
        val job = (applicationContext as? SyncJob.Provider)?.syncJob() ?: return Result.failure()
        // Past WorkManager's deadline: what was finished is kept; the rest is retried.
        val outcome = runCatching { withTimeoutOrNull(DEADLINE_MS) { job.run(deadlineMs = DEADLINE_MS - 30_000) } ?: SyncDecision.RETRY }
        return when (outcome.getOrElse { decisionFor(it) }) {
            SyncDecision.SUCCESS -> Result.success()
            SyncDecision.RETRY -> Result.retry()
            SyncDecision.FAILURE -> Result.failure()
        }
    }

    companion object {
        /** WorkManager stops a worker after 10 minutes. */
        const val DEADLINE_MS = 9 * 60_000L

        fun schedule(context: Context) {
            val request =
                OneTimeWorkRequestBuilder<SyncWorker>()
                    .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                    .setBackoffCriteria(BackoffPolicy.EXPONENTIAL, 30, TimeUnit.SECONDS)
                    .build()
            WorkManager.getInstance(context).enqueueUniqueWork("timbang-sync", ExistingWorkPolicy.KEEP, request)
        }
    }
}
