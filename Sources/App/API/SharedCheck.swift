import Dispatch
import Synchronization

/// An expensive check whose result is shared: callers within `lifetime` seconds of the last
/// check get its result, and callers while one runs wait for it instead of starting another.
/// A caller that goes away does not cancel the check the others wait for.
final class SharedCheck<Value: Sendable>: Sendable {
    private let lifetime: Double
    private let now: @Sendable () -> Double
    private let check: @Sendable () async -> Value
    private struct State {
        var task: Task<Value, Never>?
        /// When `task` finished (nil while it runs).
        var finished: Double?
        /// Tells a finishing check whether it is still the current one.
        var generation = 0
        /// The result of the last check that finished.
        var last: Value?
    }
    private let state = Mutex(State())

    /// `now` is in seconds on a clock that never goes back (uptime by default).
    init(lifetime: Double, now: @escaping @Sendable () -> Double = { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 },
         check: @escaping @Sendable () async -> Value) {
        self.lifetime = lifetime
        self.now = now
        self.check = check
    }

    func value() async -> Value {
        let task = state.withLock { state -> Task<Value, Never> in
            if let task = state.task, state.finished.map({ now() - $0 < lifetime }) ?? true { return task }
            state.generation += 1
            state.finished = nil
            let generation = state.generation
            let task = Task { [check, now, self] in
                let value = await check()
                let finished = now()
                self.state.withLock { state in
                    if state.generation == generation {
                        state.finished = finished
                        state.last = value
                    }
                }
                return value
            }
            state.task = task
            return task
        }
        return await task.value
    }

    /// The last finished check's result at once (nil until one has finished), for callers that
    /// must not wait; when it is older than `lifetime` (or none ran), a check starts for later calls.
    func latest() -> Value? {
        let (last, stale) = state.withLock { state in
            (state.last, state.task == nil || state.finished.map { now() - $0 >= lifetime } ?? false)
        }
        if stale { Task { _ = await value() } }
        return last
    }
}
