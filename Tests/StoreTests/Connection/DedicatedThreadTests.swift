import Foundation
import Testing
@testable import Store

@Suite struct DedicatedThreadTests {
    @Test func workRunsInOrderUntilStopThenSubmitIsRefused() async {
        let thread = DedicatedThread()
        let order = await withCheckedContinuation { (continuation: CheckedContinuation<[Int], Never>) in
            let seen = Seen()
            for value in 0..<3 {
                #expect(thread.submit { seen.append(value) })
            }
            #expect(thread.submit { continuation.resume(returning: seen.values) })
        }
        #expect(order == [0, 1, 2])
        thread.stop()
        // Refused whether or not the thread has exited yet: the work might never run.
        #expect(!thread.submit {})
    }
}

/// Values appended on the dedicated thread, read back after it signalled.
private final class Seen: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Int] = []
    func append(_ value: Int) { lock.withLock { stored.append(value) } }
    var values: [Int] { lock.withLock { stored } }
}
