// The idiomatic Kotlin face of the core: suspend functions on an IO dispatcher, a Flow for the
// village list, cancellation mapped to the core's interrupt. Pure JVM: compiled and tested here
// (bindings/ffi/tests/bindings.rs) against the generated bindings and the host build of the library.
package org.timbang.android

import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.flowOn
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.onSubscription
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.timbang.core.AsikConfig
import org.timbang.core.AsikStatus
import org.timbang.core.ByteStream
import org.timbang.core.ChangeListener
import org.timbang.core.ChildDetail
import org.timbang.core.Conflict
import org.timbang.core.DeviceSettings
import org.timbang.core.DuplicateCandidate
import org.timbang.core.EarlyWarning
import org.timbang.core.ExportSummary
import org.timbang.core.GrowthChart
import org.timbang.core.HttpClient
import org.timbang.core.ImportProgress
import org.timbang.core.ImportReport
import org.timbang.core.NewChild
import org.timbang.core.PeerReport
import org.timbang.core.PeerRole
import org.timbang.core.Registered
import org.timbang.core.RelayConfig
import org.timbang.core.RelayReport
import org.timbang.core.Skdn
import org.timbang.core.SyncReason
import org.timbang.core.SyncReport
import org.timbang.core.Timbang
import org.timbang.core.VillageRow
import org.timbang.core.VisitEntry
import org.timbang.core.VisitResult

/**
 * One posyandu database. Every call runs on [io] (the core blocks); errors are the generated
 * `TimbangException` subclasses with their fields (`InvalidInput.field`, `NeedsConfirmation.reasons`,
 * `Network.retryable`, ...).
 */
class TimbangClient(
    private val core: Timbang,
    private val io: CoroutineDispatcher = Dispatchers.IO,
) : AutoCloseable {
    private val changes = MutableSharedFlow<Unit>(extraBufferCapacity = 1, onBufferOverflow = BufferOverflow.DROP_OLDEST)

    init {
        core.setChangeListener(
            object : ChangeListener {
                override fun changed() {
                    changes.tryEmit(Unit)
                }
            },
        )
    }

    companion object {
        /** Open (or create) the database at [path] with the key [keys] keeps; the key copy is wiped. */
        suspend fun open(
            path: String,
            keys: KeyProvider,
            io: CoroutineDispatcher = Dispatchers.IO,
        ): TimbangClient =
            withContext(io) {
                val key = keys.databaseKey()
                try {
                    TimbangClient(Timbang.open(path, key), io)
                } finally {
                    key.fill(0)
                }
            }
    }

    /** The village list, most urgent first: now, then again after every change (a kader's entry on
     *  this phone, a batch arriving from another). Slow collectors see only the latest list. */
    fun villageList(): Flow<List<VillageRow>> =
        changes.onSubscription { emit(Unit) }.conflate().map { core.villageList() }.flowOn(io)

    /** Set up this phone as the first of a posyandu's team. */
    suspend fun init(posyandu: String, village: String, deviceName: String): DeviceSettings =
        withContext(io) { core.init(posyandu, village, deviceName) }

    /** Set up a fresh database as another phone of the team whose pairing code is [code]. */
    suspend fun teamJoin(code: String, deviceName: String): DeviceSettings = withContext(io) { core.teamJoin(code, deviceName) }

    suspend fun possibleDuplicates(child: NewChild): List<DuplicateCandidate> = withContext(io) { core.possibleDuplicates(child) }

    suspend fun registerChild(child: NewChild, confirm: Boolean = false): Registered = withContext(io) { core.registerChild(child, confirm) }

    suspend fun recordVisit(childId: String, entry: VisitEntry, confirm: Boolean = false): VisitResult =
        withContext(io) { core.recordVisit(childId, entry, confirm) }

    suspend fun child(childId: String): ChildDetail = withContext(io) { core.child(childId) }

    suspend fun conflicts(): List<Conflict> = withContext(io) { core.conflicts() }

    suspend fun resolve(conflictId: String, value: String) = withContext(io) { core.resolve(conflictId, value) }

    suspend fun mergeChildren(keepId: String, duplicateId: String): String = withContext(io) { core.mergeChildren(keepId, duplicateId) }

    suspend fun teamInvite(): String = withContext(io) { core.teamInvite() }

    /** One session with another phone over [stream]. Cancelling the coroutine interrupts the core:
     *  the session ends with `TimbangException.Interrupted`, keeping the batches it stored. A dialling
     *  phone offers [sessionVersion] (null: the newest); when an older phone refuses it, open a new
     *  stream and offer one less. */
    suspend fun peerSession(stream: ByteStream, role: PeerRole, sessionVersion: UByte? = null): PeerReport =
        interruptible { core.peerSession(stream, role, sessionVersion = sessionVersion) }

    /** SKDN of [month] (`YYYY-MM`) for [posyandu] (by name), or for every child on this phone. */
    suspend fun skdn(month: String, posyandu: String? = null): Skdn = withContext(io) { core.skdn(month, posyandu) }

    /** SKDN of [month] for each posyandu this phone holds children of. */
    suspend fun skdnByPosyandu(month: String): List<Skdn> = withContext(io) { core.skdnByPosyandu(month) }

    /** Record whether a child has a KMS / Buku KIA (the K of SKDN). */
    suspend fun setHasKms(childId: String, hasKms: Boolean) = withContext(io) { core.setHasKms(childId, hasKms) }

    /** The early warnings as of today. */
    suspend fun warnings(): List<EarlyWarning> = withContext(io) { core.warnings() }

    /** A child's growth chart: the SVG, and the measurements as data. */
    suspend fun growthChart(childId: String): GrowthChart = withContext(io) { core.growthChart(childId) }

    /** The exports of [month], written to [outPath] (`.xlsx` or `.csv`, atomically). */
    suspend fun exportEppgbm(month: String, outPath: String, columns: String? = null): ExportSummary =
        withContext(io) { core.exportEppgbm(month, outPath, columns) }

    suspend fun exportElsimil(month: String, outPath: String): ExportSummary = withContext(io) { core.exportElsimil(month, outPath) }

    suspend fun exportRegister(month: String, outPath: String): ExportSummary = withContext(io) { core.exportRegister(month, outPath) }

    suspend fun exportSip6(month: String, outPath: String): ExportSummary = withContext(io) { core.exportSip6(month, outPath) }

    /** Import a register CSV ([csv], UTF-8; [name] names it in errors); [progress] gets (done, total)
     *  children after every batch, on the IO thread. Cancelling interrupts between batches. */
    suspend fun importRegister(name: String, csv: ByteArray, progress: ((Long, Long) -> Unit)? = null): ImportReport =
        interruptible {
            core.importRegister(
                name,
                csv,
                progress?.let { p ->
                    object : ImportProgress {
                        override fun progress(done: ULong, total: ULong) = p(done.toLong(), total.toLong())
                    }
                },
            )
        }

    suspend fun asikStatus(): AsikStatus = withContext(io) { core.asikStatus() }

    /** Upload what is pending to ASIK within [budgetMs]; cancelling interrupts (progress is kept). */
    suspend fun asikSync(http: HttpClient, config: AsikConfig, reason: SyncReason, budgetMs: Long): SyncReport =
        interruptible { core.asikSync(http, config, reason, budgetMs.toULong()) }

    /** Push to and pull from the team's relay bucket; cancelling interrupts (what was applied stays). */
    suspend fun relaySync(http: HttpClient, config: RelayConfig, compact: Boolean = false): RelayReport =
        interruptible { core.relaySync(http, config, compact) }

    /** Run blocking long work on [io]; a cancellation while it runs interrupts it through the core's
     *  handle (only while it runs, so other work started later is not touched). */
    suspend fun <T> interruptible(work: () -> T): T =
        withContext(io) {
            val handle = core.interruptHandle()
            val running = AtomicBoolean(true)
            val watcher =
                launch {
                    try {
                        awaitCancellation()
                    } finally {
                        if (running.get()) handle.interrupt()
                    }
                }
            try {
                work()
            } finally {
                running.set(false)
                watcher.cancel()
                handle.close()
            }
        }

    override fun close() {
        core.setChangeListener(null)
        core.close()
    }
}
