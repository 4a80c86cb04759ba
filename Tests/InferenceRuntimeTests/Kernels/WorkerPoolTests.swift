import Synchronization
import Testing
@testable import InferenceRuntime

@Suite struct WorkerPoolTests {
    @Test func everyThreadRunsEveryJobAndSharesCoverTheRange() {
        for threads in [1, 2, 3] {
            let pool = WorkerPool(threads: threads)
            let hits = Mutex([Int](repeating: 0, count: 1000))
            for _ in 0..<500 {
                pool.run { i in
                    let range = pool.share(of: 1000, thread: i, alignment: 16)
                    hits.withLock { for j in range { $0[j] += 1 } }
                }
            }
            #expect(hits.withLock { $0 }.allSatisfy { $0 == 500 })
        }
    }

    @Test func workersWakeAfterParking() async throws {
        let pool = WorkerPool(threads: 2)
        let seen = Mutex(Set<Int>())
        pool.run { i in _ = seen.withLock { $0.insert(i) } }
        try await Task.sleep(for: .milliseconds(50))  // long enough for the worker to park
        seen.withLock { $0.removeAll() }
        pool.run { i in _ = seen.withLock { $0.insert(i) } }
        #expect(seen.withLock { $0 } == [0, 1])
    }
}
