// Background sync with BGTaskScheduler: a processing task that needs the network, given the time
// iOS allows; expiry interrupts the core (it keeps what it finished) and the task is scheduled again.
import BackgroundTasks
import Foundation
import Timbang

public enum BackgroundSync {
    public static let identifier = "org.timbang.sync"  // also in Info.plist BGTaskSchedulerPermittedIdentifiers

    /// Call once at launch, before the app finishes launching. `job` runs the ASIK upload and the
    /// relay (`TimbangStore.asikSync`, `TimbangStore.relaySync`) within `deadline`.
    public static func register(job: @escaping @Sendable (_ deadline: Date) async throws -> Void) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            schedule()
            let work = Task {
                do {
                    try await job(Date().addingTimeInterval(25))
                    task.setTaskCompleted(success: true)
                } catch let e as TimbangError {
                    // Retryable failures wait for the next scheduled run; the others for a person.
                    task.setTaskCompleted(success: !retryable(e))
                } catch {
                    task.setTaskCompleted(success: false)
                }
            }
            task.expirationHandler = { work.cancel() }  // cancels the core's work (TimbangStore.run)
        }
    }

    /// Ask for the next run when the network is there.
    public static func schedule() {
        let request = BGProcessingTaskRequest(identifier: identifier)
        request.requiresNetworkConnectivity = true
        request.earliestBeginDate = Date().addingTimeInterval(15 * 60)
        try? BGTaskScheduler.shared.submit(request)
    }

    static func retryable(_ e: TimbangError) -> Bool {
        switch e {
        case .Network(_, let retryable, _, _): return retryable
        case .Interrupted: return true
        default: return false
        }
    }
}
