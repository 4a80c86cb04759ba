import Synchronization

/// Whether the service takes traffic (false once shutdown starts, so `/readyz` drains replicas).
final class Readiness: Sendable {
    private let flag = Mutex(true)
    var isAccepting: Bool { flag.withLock { $0 } }
    func stop() { flag.withLock { $0 = false } }
}
