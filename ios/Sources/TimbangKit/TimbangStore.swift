// The app-facing wrapper: async functions that run the blocking core off the caller's thread, an
// AsyncStream of the village list re-read after every commit, and task cancellation mapped to the
// core's interrupt. Errors are the generated `TimbangError` cases with their fields.
import Foundation
import Timbang

public final class TimbangStore: @unchecked Sendable {
    private let core: Timbang
    private let listener = Listener()

    /// Open (or create) the database at `path` with the key the Keychain keeps.
    public init(path: URL, keys: KeyProvider) throws {
        var key = try keys.databaseKey()
        defer { key.resetBytes(in: 0..<key.count) }
        core = try Timbang.open(path: path.path, key: key, today: nil)
        core.setChangeListener(listener: listener)
    }

    deinit { core.setChangeListener(listener: nil) }

    /// Run blocking work on a background thread; cancelling the task while it runs interrupts it.
    func run<T: Sendable>(_ work: @escaping @Sendable (Timbang) throws -> T) async throws -> T {
        let core = self.core
        let handle = core.interruptHandle()
        let running = Running()
        return try await withTaskCancellationHandler {
            try await Task.detached(priority: .userInitiated) {
                defer { running.done() }
                return try work(core)
            }.value
        } onCancel: {
            if running.isRunning { handle.interrupt() }
        }
    }

    public func registerChild(_ child: NewChild, confirm: Bool = false) async throws -> Registered {
        try await run { try $0.registerChild(child: child, confirm: confirm) }
    }

    public func recordVisit(childId: String, entry: VisitEntry, confirm: Bool = false) async throws -> VisitResult {
        try await run { try $0.recordVisit(childId: childId, entry: entry, confirm: confirm) }
    }

    public func child(_ childId: String) async throws -> ChildDetail {
        try await run { try $0.child(childId: childId) }
    }

    public func conflicts() async throws -> [Conflict] { try await run { try $0.conflicts() } }

    public func resolve(conflictId: String, value: String) async throws {
        try await run { try $0.resolve(conflictId: conflictId, value: value) }
    }

    /// A dialling phone offers `sessionVersion` (nil: the newest); when an older phone refuses it,
    /// open a new stream and offer one less.
    public func peerSession(_ stream: ByteStream, role: PeerRole, sessionVersion: UInt8? = nil) async throws -> PeerReport {
        try await run { try $0.peerSession(stream: stream, role: role, sessionVersion: sessionVersion) }
    }

    /// Upload what is pending to ASIK within `budgetMs`; cancelling interrupts (progress is kept).
    public func asikSync(http: HttpClient, config: AsikConfig, reason: SyncReason, budgetMs: UInt64) async throws -> SyncReport {
        try await run { try $0.asikSync(http: http, config: config, reason: reason, budgetMs: budgetMs) }
    }

    /// Push to and pull from the team's relay bucket; cancelling interrupts (what was applied stays).
    public func relaySync(http: HttpClient, config: RelayConfig, compact: Bool = false) async throws -> RelayReport {
        try await run { try $0.relaySync(http: http, config: config, compact: compact) }
    }

    /// SKDN of `month` (`YYYY-MM`) for `posyandu` (by name), or for every child on this phone.
    public func skdn(month: String, posyandu: String? = nil) async throws -> Skdn {
        try await run { try $0.skdn(month: month, posyandu: posyandu) }
    }

    /// The early warnings as of today.
    public func warnings() async throws -> [EarlyWarning] { try await run { try $0.warnings() } }

    /// A child's growth chart: the SVG, and the measurements as data.
    public func growthChart(childId: String) async throws -> GrowthChart {
        try await run { try $0.growthChart(childId: childId) }
    }

    /// The register of `month` written to `outPath` (`.xlsx` or `.csv`); the other exports likewise
    /// through `run { try $0.exportEppgbm(...) }`.
    public func exportRegister(month: String, outPath: String) async throws -> ExportSummary {
        try await run { try $0.exportRegister(month: month, outPath: outPath) }
    }

    /// Import a register CSV; cancelling interrupts between batches.
    public func importRegister(name: String, csv: Data, progress: ImportProgress? = nil) async throws -> ImportReport {
        try await run { try $0.importRegister(name: name, csv: csv, progress: progress) }
    }

    /// The village list now, then after every change (an entry here, a batch from another phone).
    public func villageList() -> AsyncThrowingStream<[VillageRow], Error> {
        AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let token = listener.add { continuation.yield(with: Result { try self.core.villageList() }) }
            continuation.yield(with: Result { try self.core.villageList() })
            continuation.onTermination = { [listener] _ in listener.remove(token) }
        }
    }
}

/// The core's change listener, fanned out to every open village-list stream.
private final class Listener: ChangeListener, @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var subscribers: [Int: () -> Void] = [:]

    func add(_ f: @escaping () -> Void) -> Int {
        lock.lock(); defer { lock.unlock() }
        next += 1
        subscribers[next] = f
        return next
    }

    func remove(_ token: Int) {
        lock.lock(); defer { lock.unlock() }
        subscribers[token] = nil
    }

    func changed() {
        lock.lock(); let all = Array(subscribers.values); lock.unlock()
        all.forEach { $0() }
    }
}

private final class Running: @unchecked Sendable {
    private let lock = NSLock()
    private var running = true
    var isRunning: Bool { lock.lock(); defer { lock.unlock() }; return running }
    func done() { lock.lock(); running = false; lock.unlock() }
}
