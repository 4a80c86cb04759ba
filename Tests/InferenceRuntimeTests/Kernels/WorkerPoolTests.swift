import Synchronization
import Testing
@testable import InferenceRuntime

@Suite struct WorkerPoolTests {
    @Test func everyChunkRunsExactlyOnceAndPartsCoverTheRange() {
        for threads in [1, 2, 3] {
            let pool = WorkerPool(threads: threads)
            let hits = Mutex([Int](repeating: 0, count: 1000))
            let threadsSeen = Mutex(Set<Int>())
            for job in 0..<500 {
                let chunks = 1 + job % 9
                pool.run(chunks: chunks) { thread, c in
                    _ = threadsSeen.withLock { $0.insert(thread) }
                    let range = WorkerPool.part(c, of: chunks, count: 1000, alignment: 16)
                    hits.withLock { for j in range { $0[j] += 1 } }
                }
            }
            #expect(hits.withLock { $0 }.allSatisfy { $0 == 500 })
            #expect(threadsSeen.withLock { $0 }.isSubset(of: Set(0..<threads)))
        }
    }

    @Test func workersWakeAfterParking() async throws {
        let pool = WorkerPool(threads: 2)
        let count = Mutex(0)
        pool.run(chunks: 4) { _, _ in count.withLock { $0 += 1 } }
        try await Task.sleep(for: .milliseconds(50))  // long enough for the worker to park
        pool.run(chunks: 64) { _, _ in count.withLock { $0 += 1 } }
        #expect(count.withLock { $0 } == 68)
    }

    @Test func chunkCountsStayBoundedAndParts() {
        let pool = WorkerPool(threads: 2)
        #expect(pool.chunks(for: 10) == 1)
        #expect(pool.chunks(for: 49152) == 4)  // two per thread
        #expect(pool.chunks(for: 40) == 2)     // none under 16 rows
        #expect(WorkerPool.part(7, of: 8, count: 100, alignment: 16) == 96..<100)
        #expect(WorkerPool.part(0, of: 3, count: 0) == 0..<0)
    }
}
