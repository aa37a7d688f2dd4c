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

    public func peerSession(_ stream: ByteStream, role: PeerRole) async throws -> PeerReport {
        try await run { try $0.peerSession(stream: stream, role: role) }
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
