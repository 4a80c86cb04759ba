import Dispatch
import Foundation
import Synchronization

/// Turns SIGINT and SIGTERM into an awaitable event instead of process death, so popi can stop
/// what it started (the embedded database, in-flight requests) before exiting.
final class SignalWaiter: @unchecked Sendable {  // the Dispatch sources are only touched in init
    private let sources: [DispatchSourceSignal]
    private let semaphore = DispatchSemaphore(value: 0)
    private let received = Mutex<Int32?>(nil)

    init(signals: [Int32] = [SIGINT, SIGTERM]) {
        let queue = DispatchQueue(label: "popi.signals")
        var sources: [DispatchSourceSignal] = []
        for number in signals {
            signal(number, SIG_IGN)
            sources.append(DispatchSource.makeSignalSource(signal: number, queue: queue))
        }
        self.sources = sources
        for (source, number) in zip(sources, signals) {
            source.setEventHandler { [weak self] in self?.deliver(number) }
            source.resume()
        }
    }

    private func deliver(_ number: Int32) {
        let first = received.withLock { received in
            defer { if received == nil { received = number } }
            return received == nil
        }
        if first { semaphore.signal() }
    }

    /// Whether a signal has arrived (for start-up work that polls instead of waiting).
    var hasReceived: Bool { received.withLock { $0 != nil } }

    /// Blocks until a signal arrives and returns its number.
    func wait() -> Int32 {
        semaphore.wait()
        return received.withLock { $0 } ?? 0
    }
}
