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

    /// A summary is stored only by the job's holder, together with the job's completion.
    @Test func completingWithASummaryStoresItOnlyForTheHolder() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let tenant = try await TestDatabase.tenant(store)
        let user = try await store.users.findOrCreate(tenant: tenant.id, externalID: "holder")
        let job = try await store.jobs.enqueue(NewJob(kind: kind, userID: user.id)).job
        _ = try await store.jobs.claim(owner: "w1", kinds: [kind])
        let summary = NewSummaryVersion(text: "likes tea", modelID: "m", promptVersion: "v1")
        #expect(try await store.jobs.complete(job.id, owner: "w2", storing: summary, for: user.id) == nil)
        #expect(try await store.summaries.list(user: user.id).isEmpty)
        #expect(try await store.jobs.get(job.id)?.state == .running)
        let stored = try #require(try await store.jobs.complete(job.id, owner: "w1", storing: summary, for: user.id))
        #expect(stored.version == 1 && stored.text == "likes tea")
        #expect(try await store.jobs.get(job.id)?.state == .done)
        #expect(try await store.jobs.complete(job.id, owner: "w1", storing: summary, for: user.id) == nil, "done: nothing more")
        #expect(try await store.summaries.list(user: user.id).count == 1)
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

    @Test func runNowMakesADebouncedJobDueAtOnce() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let pending = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u", delay: 3600, maxDelay: 7200))
        #expect(try await store.jobs.claim(owner: "w", kinds: [kind]).isEmpty)
        // Enqueueing again with no delay keeps the debounce (it only moves later)...
        let merged = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u", delay: 0))
        #expect(merged.merged && merged.job.runAfter >= pending.job.runAfter)
        // ...runNow does not.
        let due = try #require(try await store.jobs.runNow(pending.job.id))
        #expect(due.state == .pending && due.runAfter < pending.job.runAfter)
        let claimed = try await store.jobs.claim(owner: "w", kinds: [kind])
        #expect(claimed.map(\.id) == [pending.job.id])
        #expect(try await store.jobs.runNow(pending.job.id) == nil)
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
        // The first worker claims and is never heard from again. Its lease is long enough that
        // no scheduling delay can end it early; the time running out is then played by moving
        // the lease into the past (a 2 s lease failed here when the machine was busy).
        #expect(try await store.jobs.claim(owner: "vanished", kinds: [kind], lease: 300).map(\.id) == [job.id])
        #expect(try await store.jobs.claim(owner: "rescuer", kinds: [kind]).isEmpty)
        try await store.pool.query("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = \(job.id)")
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
