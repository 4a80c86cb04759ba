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
        #expect(try await store.jobs.claim(owner: "w1", kinds: ["some-other-kind-\(UUID())"]).jobs.isEmpty)
        let claimed = try await store.jobs.claim(owner: "w1", kinds: [kind], limit: 5, lease: 30).jobs
        #expect(claimed.map(\.id) == [enqueued.job.id])
        let job = claimed[0]
        #expect(job.state == .running && job.attempts == 1 && job.leaseOwner == "w1" && job.payload.text == #"{"n": 1}"#)
        #expect(try await store.jobs.claim(owner: "w2", kinds: [kind]).jobs.isEmpty)
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
        #expect(try await store.jobs.claim(owner: "w", kinds: [kind]).jobs.isEmpty)
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
        #expect(try await store.jobs.claim(owner: "w", kinds: [kind]).jobs.isEmpty)
        // Enqueueing again with no delay keeps the debounce (it only moves later)...
        let merged = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u", delay: 0))
        #expect(merged.merged && merged.job.runAfter >= pending.job.runAfter)
        // ...runNow does not.
        let due = try #require(try await store.jobs.runNow(pending.job.id))
        #expect(due.state == .pending && due.runAfter < pending.job.runAfter)
        let claimed = try await store.jobs.claim(owner: "w", kinds: [kind]).jobs
        #expect(claimed.map(\.id) == [pending.job.id])
        #expect(try await store.jobs.runNow(pending.job.id) == nil)
    }

    @Test func aRunningJobBlocksItsDedupKeyUntilDone() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let first = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u"))
        let running = try await store.jobs.claim(owner: "w1", kinds: [kind]).jobs
        #expect(running.map(\.id) == [first.job.id])
        // New work for the same key queues a second job, which waits for the running one.
        let second = try await store.jobs.enqueue(NewJob(kind: kind, dedupKey: "u"))
        #expect(!second.merged)
        #expect(try await store.jobs.claim(owner: "w2", kinds: [kind]).jobs.isEmpty)
        #expect(try await store.jobs.complete(first.job.id, owner: "w1"))
        #expect(try await store.jobs.claim(owner: "w2", kinds: [kind]).jobs.map(\.id) == [second.job.id])
    }

    @Test func failuresRetryWithBackoffThenFailForGood() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let job = try await store.jobs.enqueue(NewJob(kind: kind, maxAttempts: 2)).job
        let policy = RetryPolicy(base: 0, cap: 0)
        _ = try await store.jobs.claim(owner: "w", kinds: [kind])
        let retried = try #require(try await store.jobs.fail(job.id, owner: "w", error: "model crashed", policy: policy))
        #expect(retried.state == .pending && retried.lastError == "model crashed" && retried.finishedAt == nil)
        let again = try await store.jobs.claim(owner: "w", kinds: [kind]).jobs
        #expect(again.first?.attempts == 2)
        let failed = try #require(try await store.jobs.fail(job.id, owner: "w", error: "crashed again", policy: policy))
        #expect(failed.state == .failed && failed.finishedAt != nil)
        #expect(try await store.jobs.claim(owner: "w", kinds: [kind]).jobs.isEmpty)
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
        #expect(try await store.jobs.claim(owner: "w", kinds: [kind]).jobs.map(\.id) == [twin.id])
    }

    @Test func aJobWhoseWorkerVanishedIsClaimedAgainAfterItsLease() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let job = try await store.jobs.enqueue(NewJob(kind: kind, maxAttempts: 2)).job
        // The first worker claims and is never heard from again. Its lease is long enough that
        // no scheduling delay can end it early; the time running out is then played by moving
        // the lease into the past (a 2 s lease failed here when the machine was busy).
        #expect(try await store.jobs.claim(owner: "vanished", kinds: [kind], lease: 300).jobs.map(\.id) == [job.id])
        #expect(try await store.jobs.claim(owner: "rescuer", kinds: [kind]).jobs.isEmpty)
        try await store.pool.query("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = \(job.id)")
        #expect(try await store.jobs.statistics().expiredLeases >= 1)
        let rescued = try await store.jobs.claim(owner: "rescuer", kinds: [kind], lease: 0.3).jobs
        #expect(rescued.map(\.id) == [job.id])
        #expect(rescued.first?.attempts == 2 && rescued.first?.leaseOwner == "rescuer")
        // The vanished worker coming back cannot complete it any more.
        #expect(try await !store.jobs.complete(job.id, owner: "vanished"))
        // The rescuer vanishes too: out of attempts, the job fails instead of running a third time.
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await store.jobs.claim(owner: "third", kinds: [kind]).jobs.isEmpty)
        let final = try #require(try await store.jobs.get(job.id))
        #expect(final.state == .failed && final.lastError?.contains("lease expired") == true)
    }

    /// A claim says how many expired leases it met: jobs it took over from a vanished worker
    /// (reclaimed) and jobs it failed instead because that was their last attempt. Expired leases
    /// of other kinds are left to their own workers.
    @Test func aClaimCountsTheExpiredLeasesItMeets() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind(), otherKind = Self.uniqueKind()
        let abandoned = try await store.jobs.enqueue(NewJob(kind: kind, maxAttempts: 3)).job
        let exhausted = try await store.jobs.enqueue(NewJob(kind: kind, maxAttempts: 1)).job
        let other = try await store.jobs.enqueue(NewJob(kind: otherKind, maxAttempts: 1)).job
        let first = try await store.jobs.claim(owner: "vanished", kinds: [kind, otherKind], limit: 3, lease: 300)
        #expect(Set(first.jobs.map(\.id)) == [abandoned.id, exhausted.id, other.id])
        #expect(first.reclaimed == 0 && first.failedOnExpiredLease == 0)
        let fresh = try await store.jobs.enqueue(NewJob(kind: kind)).job
        // The worker is never heard from again; its leases run out (moved into the past).
        let held = [abandoned.id, exhausted.id, other.id].map(\.rawValue)
        try await store.pool.query("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = ANY(\(held))")

        let rescue = try await store.jobs.claim(owner: "rescuer", kinds: [kind], limit: 5)
        #expect(Set(rescue.jobs.map(\.id)) == [abandoned.id, fresh.id])
        #expect(rescue.reclaimed == 1 && rescue.failedOnExpiredLease == 1)
        #expect(try await store.jobs.get(exhausted.id)?.state == .failed)
        #expect(try await store.jobs.get(other.id)?.state == .running, "another kind's worker decides about it")
        let again = try await store.jobs.claim(owner: "rescuer", kinds: [kind], limit: 5)
        #expect(again.jobs.isEmpty && again.reclaimed == 0 && again.failedOnExpiredLease == 0)
        let otherRescue = try await store.jobs.claim(owner: "other", kinds: [otherKind])
        #expect(otherRescue.jobs.isEmpty && otherRescue.failedOnExpiredLease == 1)
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
                        let jobs = try await store.jobs.claim(owner: "worker-\(worker)", kinds: [kind], limit: 3).jobs
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
        let states = try await store.pool.query("""
            SELECT state, attempts, count(*) FROM jobs WHERE kind = \(kind) GROUP BY state, attempts
            """).map { try $0.decode(String.self, Int.self, Int.self) }
        #expect(states.count == 1 && states[0] == ("done", 1, 800))
    }

    /// Users of fresh tenants, one per name.
    static func users(_ store: DataStore, _ tenant: TenantID, _ names: [String]) async throws -> [UserID] {
        var users: [UserID] = []
        for name in names { users.append(try await store.users.findOrCreate(tenant: tenant, externalID: name).id) }
        return users
    }

    /// A tenant with a backlog gets one turn per round: another tenant's single job, queued
    /// after the whole backlog, is the second job claimed, not the fifth.
    @Test func claimsGoRoundRobinByTenant() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let busy = try await Self.users(store, try await TestDatabase.tenant(store).id, ["a1", "a2", "a3", "a4"])
        let quiet = try await Self.users(store, try await TestDatabase.tenant(store).id, ["b1"])
        var ids: [UserID: JobID] = [:]
        for user in busy + quiet { ids[user] = try await store.jobs.enqueue(NewJob(kind: kind, userID: user)).job.id }

        var order: [JobID] = []
        for _ in 0..<3 { order += try await store.jobs.claim(owner: "w", kinds: [kind]).jobs.map(\.id) }
        #expect(order == [ids[busy[0]]!, ids[quiet[0]]!, ids[busy[1]]!], "oldest first, then the tenant not served yet")
        // Several at once: still one per tenant per round, in the order of the round.
        let more = try await store.jobs.claim(owner: "w", kinds: [kind], limit: 5).jobs.map(\.id)
        #expect(more == [ids[busy[2]]!, ids[busy[3]]!])
    }

    /// Past its cap, a tenant's new jobs are not queued (and counted); a job merging into its
    /// pending twin still is, and other tenants are not affected. Feedback is stored anyway.
    @Test func aTenantsQueueHoldsAtMostItsCap() async throws {
        let store = try await TestDatabase.store()
        let kind = Self.uniqueKind()
        let tenant = try await TestDatabase.tenant(store)
        let users = try await Self.users(store, tenant.id, ["c1", "c2", "c3"])
        let other = try await Self.users(store, try await TestDatabase.tenant(store).id, ["d1"])[0]
        func job(_ user: UserID) -> NewJob { NewJob(kind: kind, userID: user, dedupKey: "u\(user.rawValue)", maxQueuedPerTenant: 2) }

        let dropped = store.queueCounters.droppedOverTenantCap
        _ = try await store.jobs.enqueue(job(users[0]))
        _ = try await store.jobs.enqueue(job(users[1]))
        await #expect(throws: StoreError.queueFull(limit: 2)) { try await store.jobs.enqueue(job(users[2])) }
        #expect(store.queueCounters.droppedOverTenantCap == dropped + 1)
        #expect(try await store.jobs.enqueue(job(users[0])).merged, "a merge takes no new place")
        #expect(try await !store.jobs.enqueue(job(other)).merged, "another tenant has room")

        // Feedback past the cap is stored, without a refresh.
        let refresh: FeedbackRepository.RefreshJob = { user in NewJob(kind: kind, userID: user, dedupKey: "u\(user.rawValue)",
                                                                      maxQueuedPerTenant: 2) }
        let ingested = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "c3",
                                                       events: [NewFeedbackEvent(content: .statement(text: "hi"))], refresh: refresh)
        #expect(ingested.insertedCount == 1 && ingested.refreshJob == nil)
        #expect(store.queueCounters.droppedOverTenantCap == dropped + 2)
        // Once a job ran, there is room again.
        _ = try await store.jobs.claim(owner: "w", kinds: [kind], limit: 3)
        #expect(try await store.jobs.enqueue(job(users[2])).job.state == .pending)
    }

    /// A waiter reads the job, then reads nothing until the job's completion is announced (by
    /// another connection's NOTIFY): no polling, and it returns as soon as the job is done.
    @Test func waitingForAJobReadsItOnlyWhenWoken() async throws {
        let store = try await TestDatabase.store()
        let own = DataStore(pool: ConnectionPool(configuration: try TestDatabase.configuration(poolSize: 2)))
        defer { own.pool.shutdown() }
        let kind = Self.uniqueKind()
        let job = try await store.jobs.enqueue(NewJob(kind: kind)).job
        let waiter = Task { try await own.jobs.waitUntilFinished(job.id, until: .now + .seconds(600)) }
        while own.pool.notifications.registrations == 0 || !own.pool.notifications.isListening(on: JobQueue.finishedChannel) {
            try await Task.sleep(for: .milliseconds(20))
        }
        // Woken once by the LISTEN itself, the waiter reads the job again, then sleeps.
        var settled = own.pool.statistics.acquisitions
        for _ in 0..<50 {
            try await Task.sleep(for: .milliseconds(300))
            let now = own.pool.statistics.acquisitions
            if now == settled { break }
            settled = now
        }
        // Claiming announces nothing: the waiter stays asleep, reading nothing.
        #expect(try await store.jobs.claim(owner: "w", kinds: [kind]).jobs.map(\.id) == [job.id])
        let reads = own.pool.statistics.acquisitions
        try await Task.sleep(for: .milliseconds(600))
        #expect(own.pool.statistics.acquisitions == reads, "no query while waiting")
        #expect(try await store.jobs.complete(job.id, owner: "w"))
        let finished = try await waiter.value
        #expect(finished?.state == .done)
        #expect(own.pool.notifications.registrations == 0)
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
