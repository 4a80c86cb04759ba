import Foundation
import Testing
@testable import Store

/// Each test uses job kinds of its own, so tests running in parallel never claim each other's jobs.
@Suite struct JobQueueTests {
    static func uniqueKind(_ label: String = #function) -> String { "test-\(label)-\(UUID().uuidString)" }

    @Test func enqueueClaimCompleteLifecycle() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let enqueued = try await store.jobs.enqueue(NewJob(kind: kind, payload: JSONB(text: #"{"n": 1}"#)))
        #expect(!enqueued.merged && enqueued.job.state == .pending && enqueued.job.attempts == 0)
        #expect(try await store.jobs.claim(owner: "w1", kinds: ["some-other-kind-\(UUID())"]).isEmpty)
        let claimed = try await store.jobs.claim(owner: "w1", kinds: [kind], limit: 5, lease: 30)
        #expect(claimed.map(\.id) == [enqueued.job.id])
        let job = claimed[0]
        #expect(job.state == .running && job.attempts == 1 && job.leaseOwner == "w1" && job.payload.text == #"{"n": 1}"#)
        #expect(try await store.jobs.claim(owner: "w2", kinds: [kind]).isEmpty)
        #expect(try await store.jobs.extendLease(job.id, owner: "w1", by: 60))
        #expect(try await !store.jobs.complete(job.id, owner: "w2"))
        #expect(try await store.jobs.complete(job.id, owner: "w1"))
        let done = try #require(try await store.jobs.get(job.id))
        #expect(done.state == .done && done.finishedAt != nil && done.leaseOwner == nil)
        #expect(try await !store.jobs.complete(job.id, owner: "w1"))
    }

    @Test func delayedJobsWaitForTheirTime() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        _ = try await store.jobs.enqueue(NewJob(kind: kind, delay: 3600))
        #expect(try await store.jobs.claim(owner: "w", kinds: [kind]).isEmpty)
    }

    @Test func pendingJobsWithOneDedupKeyMergeAndDebounce() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let first = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u1", delay: 10, maxDelay: 15))
        let second = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u1", payload: JSONB(text: #"{"v": 2}"#), delay: 10, maxDelay: 15))
        #expect(second.merged && second.job.id == first.job.id)
        #expect(second.job.payload.text == #"{"v": 2}"#)
        // Trailing debounce: the start moved later, but never past created + maxDelay.
        #expect(second.job.runAfter >= first.job.runAfter)
        #expect(second.job.runAfter <= first.job.createdAt.addingTimeInterval(15.001))
        let third = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u1", delay: 3600, maxDelay: 15))
        #expect(third.job.runAfter <= first.job.createdAt.addingTimeInterval(15.001))
        let other = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u2"))
        #expect(!other.merged && other.job.id != first.job.id)
    }

    @Test func aRunningJobBlocksItsDedupKeyUntilDone() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let first = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u"))
        let running = try await store.jobs.claim(owner: "w1", kinds: [kind])
        #expect(running.map(\.id) == [first.job.id])
        // New work for the same key queues a second job, which waits for the running one.
        let second = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u"))
        #expect(!second.merged)
        #expect(try await store.jobs.claim(owner: "w2", kinds: [kind]).isEmpty)
        #expect(try await store.jobs.complete(first.job.id, owner: "w1"))
        #expect(try await store.jobs.claim(owner: "w2", kinds: [kind]).map(\.id) == [second.job.id])
    }

    @Test func failuresRetryWithBackoffThenFailForGood() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let job = try await store.jobs.enqueue(NewJob(kind: kind, maxAttempts: 2)).job
        let policy = RetryPolicy(base: 0, cap: 0)
        _ = try await store.jobs.claim(owner: "w", kinds: [kind])
        let retried = try #require(try await store.jobs.fail(job.id, owner: "w", error: "model crashed", policy: policy))
        #expect(retried.state == .pending && retried.lastError == "model crashed" && retried.finishedAt == nil)
        let again = try await store.jobs.claim(owner: "w", kinds: [kind])
        #expect(again.first?.attempts == 2)
        let failed = try #require(try await store.jobs.fail(job.id, owner: "w", error: "crashed again", policy: policy))
        #expect(failed.state == .failed && failed.finishedAt != nil)
        #expect(try await store.jobs.claim(owner: "w", kinds: [kind]).isEmpty)
        #expect(try await store.jobs.fail(job.id, owner: "w", error: "not mine any more") == nil)

        let backoff = try await store.jobs.enqueue(NewJob(kind: kind)).job
        _ = try await store.jobs.claim(owner: "w", kinds: [kind])
        let later = try #require(try await store.jobs.fail(backoff.id, owner: "w", error: "busy", policy: RetryPolicy(base: 60, cap: 300)))
        #expect(later.runAfter > Date().addingTimeInterval(50))
        let fatal = try await store.jobs.enqueue(NewJob(kind: kind + "-fatal")).job
        _ = try await store.jobs.claim(owner: "w", kinds: [kind + "-fatal"])
        #expect(try await store.jobs.fail(fatal.id, owner: "w", error: "bad input", retry: false)?.state == .failed)
    }

    @Test func aFailedJobWithANewerPendingTwinIsSuperseded() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let first = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u")).job
        _ = try await store.jobs.claim(owner: "w", kinds: [kind])
        let twin = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u")).job
        let failed = try #require(try await store.jobs.fail(first.id, owner: "w", error: "oops", policy: RetryPolicy(base: 0, cap: 0)))
        #expect(failed.state == .superseded)
        #expect(try await store.jobs.claim(owner: "w", kinds: [kind]).map(\.id) == [twin.id])
    }

    @Test func aJobWhoseWorkerVanishedIsClaimedAgainAfterItsLease() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let job = try await store.jobs.enqueue(NewJob(kind: kind, maxAttempts: 2)).job
        // The first worker claims with a 2 s lease and is never heard from again.
        #expect(try await store.jobs.claim(owner: "vanished", kinds: [kind], lease: 2).map(\.id) == [job.id])
        #expect(try await store.jobs.claim(owner: "rescuer", kinds: [kind]).isEmpty)
        try await Task.sleep(for: .milliseconds(2500))
        #expect(try await store.jobs.statistics().expiredLeases >= 1)
        let rescued = try await store.jobs.claim(owner: "rescuer", kinds: [kind], lease: 0.3)
        #expect(rescued.map(\.id) == [job.id])
        #expect(rescued.first?.attempts == 2 && rescued.first?.leaseOwner == "rescuer")
        // The vanished worker coming back cannot complete it any more.
        #expect(try await !store.jobs.complete(job.id, owner: "vanished"))
        // The rescuer vanishes too: out of attempts, the job fails instead of running a third time.
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await store.jobs.claim(owner: "third", kinds: [kind]).isEmpty)
        let final = try #require(try await store.jobs.get(job.id))
        #expect(final.state == .failed && final.lastError?.contains("lease expired") == true)
    }

    /// 4 workers drain 800 jobs concurrently: each job is claimed and completed exactly once.
    @Test func fourConcurrentWorkersDoEveryJobExactlyOnce() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        var enqueued: Set<JobID> = []
        for n in 0..<800 {
            enqueued.insert(try await store.jobs.enqueue(NewJob(kind: kind, payload: JSONB(text: "{\"n\": \(n)}"))).job.id)
        }
        let done = try await withThrowingTaskGroup(of: [JobID].self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var mine: [JobID] = []
                    while true {
                        let jobs = try await store.jobs.claim(owner: "worker-\(worker)", kinds: [kind], limit: 3)
                        if jobs.isEmpty { return mine }
                        for job in jobs {
                            #expect(try await store.jobs.complete(job.id, owner: "worker-\(worker)"))
                            mine.append(job.id)
                        }
                    }
                }
            }
            return try await group.reduce(into: [[JobID]]()) { $0.append($1) }
        }
        let all = done.flatMap { $0 }
        #expect(all.count == 800)
        #expect(Set(all) == enqueued)
        #expect(done.allSatisfy { !$0.isEmpty }, "every worker got some work")
        let states = try await store.pool.query("""
            SELECT state, attempts, count(*) FROM jobs WHERE kind = \(kind) GROUP BY state, attempts
            """).map { try $0.decode(String.self, Int.self, Int.self) }
        #expect(states.count == 1 && states[0] == ("done", 1, 800))
    }

    @Test func statisticsAndPurge() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let job = try await store.jobs.enqueue(NewJob(kind: kind)).job
        let before = try await store.jobs.statistics()
        #expect(before.pending >= 1 && before.due >= 1)
        _ = try await store.jobs.claim(owner: "w", kinds: [kind])
        _ = try await store.jobs.complete(job.id, owner: "w")
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await store.jobs.purgeFinished(olderThan: 0.01, kinds: [kind]) == 1)
        #expect(try await store.jobs.get(job.id) == nil)
    }
}
