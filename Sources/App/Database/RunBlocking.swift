import Dispatch
import Foundation

/// Runs async work from synchronous start-up code (a CLI command on the main thread, never a
/// thread of the Swift cooperative pool) and waits for its result.
func runBlocking<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            box.result = .success(try await operation())
        } catch {
            box.result = .failure(error)
        }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// Written once by the task, read after the semaphore: the semaphore orders the two.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
