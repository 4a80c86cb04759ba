import Foundation
import Synchronization

/// A one-line progress bar on standard error: done / total, elapsed and estimated time left.
final class ProgressBar: Sendable {
    private let label: String
    private let started = Date()
    /// The count at the first update: the ETA counts only work done by this run.
    private let firstDone = Mutex<Int?>(nil)
    private let interactive = isatty(STDERR_FILENO) != 0

    init(label: String) {
        self.label = label
    }

    func update(done: Int, total: Int) {
        firstDone.withLock { firstDone in
            if firstDone == nil { firstDone = done }
            let elapsed = Date().timeIntervalSince(started)
            let fresh = done - (firstDone ?? 0)
            let eta = fresh > 0 ? elapsed / Double(fresh) * Double(total - done) : nil
            let width = 30
            let filled = total > 0 ? width * done / total : width
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let line = "[\(bar)] \(done)/\(total) \(label), \(Self.clock(elapsed)) elapsed, ETA \(eta.map(Self.clock) ?? "--:--")"
            FileHandle.standardError.write(Data((interactive ? "\r\(line)" : "\(line)\n").utf8))
        }
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60)
    }
}
