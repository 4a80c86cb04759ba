import Synchronization

/// Runs a connection's handler tasks on that connection's serial queue. When the connection starts
/// a handler it drains the executor inline, so a handler that never suspends runs to completion
/// without a single thread hop; jobs resumed from elsewhere are drained by `queue.async`.
final class ConnectionExecutor: TaskExecutor, @unchecked Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        var head = 0
        /// A drain is running or scheduled on the queue.
        var active = false
    }

    private let queue: ConnectionQueue
    private let state = Mutex(State())

    init(queue: ConnectionQueue) {
        self.queue = queue
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let schedule = state.withLock { state -> Bool in
            state.jobs.append(job)
            if state.active { return false }
            state.active = true
            return true
        }
        if schedule { queue.async { self.drain() } }
    }

    /// Marks the executor active so that jobs enqueued from now on wait for `drain()` on this queue.
    /// Call on the queue right before creating a task, then call `drain()`.
    func beginInline() {
        state.withLock { $0.active = true }
    }

    /// True while `drain()` runs; read and written on the queue only.
    private(set) var isDraining = false

    /// Runs every queued job. Must be called on the queue, never from inside a job.
    func drain() {
        let executor = asUnownedTaskExecutor()
        isDraining = true
        while let job = next() {
            job.runSynchronously(on: executor)
        }
        isDraining = false
    }

    private func next() -> UnownedJob? {
        state.withLock { state -> UnownedJob? in
            if state.head < state.jobs.count {
                let job = state.jobs[state.head]
                state.head += 1
                return job
            }
            state.jobs.removeAll(keepingCapacity: true)
            state.head = 0
            state.active = false
            return nil
        }
    }
}
