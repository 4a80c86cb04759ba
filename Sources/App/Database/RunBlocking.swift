import Dispatch
import Foundation

/// Runs async work from synchronous start-up code (a CLI command on the main thread, never a
/// thread of the Swift cooperative pool) and waits for its result.
func runBlocking<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    // Written once by the task before the signal, read after the wait: the semaphore orders the two.
    nonisolated(unsafe) var outcome: Result<T, Error>?
    Task {
        do {
            outcome = .success(try await operation())
        } catch {
            outcome = .failure(error)
        }
        done.signal()
    }
    done.wait()
    return try outcome!.get()
}
