import Dispatch
import Synchronization
import Glibc

/// The serial queue of one connection: its state is touched only by work run here, one piece at a
/// time. Unlike a Dispatch queue it can run work on the submitting thread: a server event thread
/// that finds the connection idle runs the readiness work itself (`run`), so a keep-alive request
/// is read, handled and answered without a thread hop. Work from anywhere else (`async`: timers,
/// shutdown, handlers resumed by other threads) runs after whatever is running, on the thread
/// running it, or on a Dispatch worker when the connection was idle.
final class ConnectionQueue: Sendable {
    typealias Work = @Sendable () -> Void

    private struct State {
        var work: [Work] = []
        var head = 0
        var running = false
        /// The thread running work here; nil while a Dispatch worker is yet to start.
        var thread: pthread_t?
    }

    private let state = Mutex(State())

    /// True when called from work running on this queue.
    var isCurrent: Bool {
        state.withLock { state in
            guard state.running, let thread = state.thread else { return false }
            return pthread_equal(thread, pthread_self()) != 0
        }
    }

    /// Runs `work` now on this thread if nothing runs here (then what was queued meanwhile);
    /// otherwise queues it behind what runs. Call from a thread that may run connection work: a
    /// server event thread, not from inside work on another queue.
    func run(_ work: @escaping Work) {
        let now = state.withLock { state -> Bool in
            if state.running {
                state.work.append(work)
                return false
            }
            state.running = true
            state.thread = pthread_self()
            return true
        }
        guard now else { return }
        work()
        drain()
    }

    /// Queues `work` to run after what runs here; never on the caller's stack.
    func async(_ work: @escaping Work) {
        let schedule = state.withLock { state -> Bool in
            state.work.append(work)
            if state.running { return false }
            state.running = true
            state.thread = nil
            return true
        }
        if schedule {
            DispatchQueue.global().async { [self] in
                state.withLock { $0.thread = pthread_self() }
                drain()
            }
        }
    }

    /// Runs queued work until none is left, then leaves the queue idle.
    private func drain() {
        while let next = state.withLock({ state -> Work? in
            if state.head < state.work.count {
                defer { state.head += 1 }
                return state.work[state.head]
            }
            state.work.removeAll(keepingCapacity: state.work.capacity <= 64)
            state.head = 0
            state.running = false
            state.thread = nil
            return nil
        }) {
            next()
        }
    }
}
