import Dispatch
import Foundation
import Synchronization
import Testing
@testable import HTTPServer

/// A connection's serial queue: work from an event thread runs on that thread when the connection
/// is idle; everything else waits its turn; one piece of work at a time, always.
@Suite struct ConnectionQueueTests {
    /// What ran, in order, and on which thread.
    private final class Log: Sendable {
        private let entries = Mutex<[(String, pthread_t)]>([])
        func add(_ name: String) { entries.withLock { $0.append((name, pthread_self())) } }
        var names: [String] { entries.withLock { $0.map(\.0) } }
        var threads: [pthread_t] { entries.withLock { $0.map(\.1) } }
    }

    @Test func workRunsAtOnceOnTheSubmittingThreadWhenIdle() {
        let queue = ConnectionQueue(), log = Log()
        #expect(!queue.isCurrent)
        queue.run {
            log.add("work")
            #expect(queue.isCurrent)
        }
        #expect(log.names == ["work"], "done before run returned")
        #expect(pthread_equal(log.threads[0], pthread_self()) != 0)
        #expect(!queue.isCurrent)
    }

    @Test func workSubmittedMeanwhileRunsAfterOnTheSameThread() {
        let queue = ConnectionQueue(), log = Log()
        queue.run {
            queue.run { log.add("second") }
            queue.async { log.add("third") }
            log.add("first")
        }
        #expect(log.names == ["first", "second", "third"])
        #expect(log.threads.allSatisfy { pthread_equal($0, pthread_self()) != 0 })
    }

    @Test func asyncWorkNeverRunsOnTheCallersStack() async {
        let queue = ConnectionQueue(), log = Log()
        let done = DispatchSemaphore(value: 0)
        let caller = pthread_self()
        queue.async {
            log.add("async")
            #expect(queue.isCurrent)
            done.signal()
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                done.wait()
                continuation.resume()
            }
        }
        #expect(log.names == ["async"])
        #expect(pthread_equal(log.threads[0], caller) == 0 || log.threads.count == 1)
    }

    /// Threads submitting at once, with `run` and `async`: every piece runs, never two at a time.
    @Test func oneAtATimeUnderContention() async {
        let queue = ConnectionQueue()
        let inside = Atomic<Int>(0), overlaps = Atomic<Int>(0), ran = Atomic<Int>(0)
        let perThread = 2000, threads = 4
        let work: @Sendable () -> Void = {
            if inside.add(1, ordering: .sequentiallyConsistent).newValue > 1 { overlaps.add(1, ordering: .relaxed) }
            ran.add(1, ordering: .relaxed)
            inside.subtract(1, ordering: .sequentiallyConsistent)
        }
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<threads {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        Thread {
                            for i in 0..<perThread {
                                if (i + index) % 2 == 0 { queue.run(work) } else { queue.async(work) }
                            }
                            continuation.resume()
                        }.start()
                    }
                }
            }
        }
        // Work queued with `async` may still be running on a worker: wait for the queue to go idle.
        let idle = DispatchSemaphore(value: 0)
        queue.async { idle.signal() }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                idle.wait()
                continuation.resume()
            }
        }
        #expect(ran.load(ordering: .relaxed) == perThread * threads)
        #expect(overlaps.load(ordering: .relaxed) == 0)
    }
}
