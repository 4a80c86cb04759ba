import Foundation

/// A thread of our own that runs submitted work in order. libpq's calls block, so they run
/// here, never on the Swift cooperative pool or on the HTTP server's request threads.
final class DedicatedThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var work: [@Sendable () -> Void] = []
    private var stopping = false
    private var identity: pthread_t?

    init() {
        let thread = Thread { [self] in loop() }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// True when called from this thread.
    var isCurrent: Bool {
        condition.lock()
        defer { condition.unlock() }
        guard let identity else { return false }
        return pthread_equal(identity, pthread_self()) != 0
    }

    /// Queues `job`; false once `stop` was called, since the thread may already have exited and
    /// the job would never run.
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        work.append(job)
        condition.signal()
        return true
    }

    /// Lets the thread finish the work already submitted, then exit; later `submit`s fail.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        condition.lock()
        identity = pthread_self()
        condition.unlock()
        while true {
            condition.lock()
            while work.isEmpty && !stopping { condition.wait() }
            if work.isEmpty {
                condition.unlock()
                return
            }
            let job = work.removeFirst()
            condition.unlock()
            job()
        }
    }
}
