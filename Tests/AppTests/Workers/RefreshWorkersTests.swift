import Foundation
import InferenceRuntime
import Personalization
import Synchronization
import Testing
@testable import App
import Store

@Suite struct RefreshWorkersTests {
    /// A job of a kind of its own (no worker claims it), run to its end by the test.
    func finishedJob(_ store: DataStore, kind: String) async throws -> JobID {
        let job = try await store.jobs.enqueue(NewJob(kind: kind)).job
        let claimed = try await store.jobs.claim(owner: "test", kinds: [kind]).jobs
        #expect(claimed.map(\.id) == [job.id])
        #expect(try await store.jobs.complete(job.id, owner: "test"))
        return job.id
    }

    @Test func startingPurgesFinishedJobsOlderThanAWeek() async throws {
        let store = try await AppTestEnvironment.store()
        let kind = "purge-test-\(UUID().uuidString.prefix(8))"
        let old = try await finishedJob(store, kind: kind)
        let recent = try await finishedJob(store, kind: kind)
        try await store.pool.query("UPDATE jobs SET finished_at = now() - interval '8 days' WHERE id = \(old)")

        let workers = RefreshWorkers(store: store, models: ServedModels(base: try await AppTestEnvironment.model()),
                                     options: AppTestEnvironment.summaryOptions, metrics: ServiceMetrics(),
                                     logger: AppTestEnvironment.logger, count: 0)
        workers.start()
        let deadline = ContinuousClock.now + .seconds(20)
        while try await store.jobs.get(old) != nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        await workers.stop()
        #expect(try await store.jobs.get(old) == nil)
        #expect(try await store.jobs.get(recent)?.state == .done)
    }

    /// A user with three pairs and a refresh job due now.
    func userWithRefresh(_ store: DataStore, _ name: String) async throws -> (UserID, JobID) {
        let tenant = try await store.tenants.create(name: "workers \(name) \(UUID().uuidString)")
        let pairs = (1...3).map { n in
            NewFeedbackEvent(content: .pair(prompt: "How do I boil an egg, case \(n)?", chosen: "Boil it \(n + 6) minutes.",
                                            rejected: "Eggs have a long culinary history; boiling one, case \(n), takes care."))
        }
        let result = try await store.feedback.ingest(tenant: tenant.id, externalUserID: name, events: pairs,
                                                     refresh: { .summaryRefresh(for: $0, delay: 0) })
        return (result.user.id, try #require(result.refreshJob).id)
    }

    /// A refresh that outlasts its lease keeps its job: the worker renews the lease while the
    /// inference runs, so another worker claiming after the first lease ran out finds nothing.
    @Test func aRefreshLongerThanItsLeaseKeepsItsJob() async throws {
        try await AppTestEnvironment.withScratchStore { store in
            let (user, jobID) = try await userWithRefresh(store, "slow")
            let gate = Gate()
            defer { gate.open() }
            let workers = RefreshWorkers(store: store, models: ServedModels(base: GatedModel(base: try await AppTestEnvironment.model(), gate: gate)),
                                         options: AppTestEnvironment.summaryOptions, metrics: ServiceMetrics(),
                                         logger: AppTestEnvironment.logger, count: 1, pollInterval: .milliseconds(50),
                                         lease: .seconds(1))
            workers.start()
            do {
                // The inference has started and waits at the gate: the work takes as long as the test wants.
                try await waitUntil("the inference starts") { gate.waiting > 0 }
                let owner = try #require(try await store.jobs.get(jobID)?.leaseOwner)
                // Twice the lease: the claim's own lease has run out by now.
                try await Task.sleep(for: .seconds(2))
                #expect(try await store.jobs.claim(owner: "intruder", kinds: [NewJob.summaryRefreshKind], lease: 60).jobs.isEmpty,
                        "the job is still held")
                let held = try #require(try await store.jobs.get(jobID))
                #expect(held.state == .running && held.leaseOwner == owner && held.attempts == 1)

                gate.open()
                try await waitUntil("the job is done") { try await store.jobs.get(jobID)?.state == .done }
                #expect(try await store.summaries.list(user: user).count == 1, "one version, written once")
            } catch {
                gate.open()
                await workers.stop()
                throw error
            }
            await workers.stop()
        }
    }

    /// A job whose worker vanished is taken over once its lease has run out, and counted: on
    /// `/metrics` a reclaim says a worker (a replica) died or hung holding a job.
    @Test func aJobLeftByAVanishedWorkerIsReclaimedAndCounted() async throws {
        try await AppTestEnvironment.withScratchStore { store in
            let (_, jobID) = try await userWithRefresh(store, "abandoned")
            let first = try await store.jobs.claim(owner: "vanished", kinds: [NewJob.summaryRefreshKind], lease: 300)
            #expect(first.jobs.map(\.id) == [jobID])
            // The worker is never heard from again; its lease runs out (moved into the past).
            try await store.pool.query("UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE id = \(jobID)")
            let gate = Gate()
            defer { gate.open() }
            let metrics = ServiceMetrics()
            let workers = RefreshWorkers(store: store, models: ServedModels(base: GatedModel(base: try await AppTestEnvironment.model(), gate: gate)),
                                         options: AppTestEnvironment.summaryOptions, metrics: metrics,
                                         logger: AppTestEnvironment.logger, count: 1, pollInterval: .milliseconds(50))
            workers.start()
            do {
                try await waitUntil("the job is reclaimed") { gate.waiting > 0 }
                let held = try #require(try await store.jobs.get(jobID))
                #expect(held.state == .running && held.attempts == 2 && held.leaseOwner != "vanished", "\(held)")
                #expect(metrics.registry.value("popi_refresh_lease_expiries_total", ["reclaimed"]) == 1)
                #expect(metrics.registry.value("popi_refresh_lease_expiries_total", ["failed"]) == 0)
            } catch {
                gate.open()
                await workers.stop()
                throw error
            }
            gate.open()
            await workers.stop()
        }
    }

    /// The version and the job's completion commit together: when completing the job fails (a
    /// trigger refuses it), no version is stored, and the job goes back to the queue to run again.
    @Test func aVersionIsStoredOnlyWithItsJobsCompletion() async throws {
        try await AppTestEnvironment.withScratchStore { store in
            let (user, jobID) = try await userWithRefresh(store, "atomic")
            try await store.pool.query("""
                CREATE FUNCTION refuse_completion() RETURNS trigger LANGUAGE plpgsql
                AS $$ BEGIN RAISE EXCEPTION 'completion refused by the test'; END $$
                """)
            try await store.pool.query("""
                CREATE TRIGGER refuse_completion BEFORE UPDATE ON jobs FOR EACH ROW
                WHEN (NEW.state = 'done') EXECUTE FUNCTION refuse_completion()
                """)
            let workers = RefreshWorkers(store: store, models: ServedModels(base: try await AppTestEnvironment.model()),
                                         options: AppTestEnvironment.summaryOptions, metrics: ServiceMetrics(),
                                         logger: AppTestEnvironment.logger, count: 0)
            let job = try #require(try await store.jobs.claim(owner: "w1", kinds: [NewJob.summaryRefreshKind]).jobs.first)
            #expect(job.id == jobID)
            await workers.process(job, owner: "w1")

            #expect(try await store.summaries.list(user: user).isEmpty, "no version without its job's completion")
            let failed = try #require(try await store.jobs.get(jobID))
            #expect(failed.state == .pending && failed.leaseOwner == nil && failed.lastError?.contains("completion refused") == true,
                    "\(failed)")
            // Claimable again once its backoff is over (made due here).
            try await store.pool.query("DROP TRIGGER refuse_completion ON jobs")
            _ = try await store.jobs.runNow(jobID)
            #expect(try await store.jobs.claim(owner: "w2", kinds: [NewJob.summaryRefreshKind]).jobs.map(\.id) == [jobID])
        }
    }
}

/// Holds callers until opened.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Callers waiting now.
    var waiting: Int { state.withLock { $0.waiters.count } }

    func wait() async {
        await withCheckedContinuation { continuation in
            let proceed = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if proceed { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }
}

/// The real model, whose sampling first waits at a gate: a refresh that takes as long as a test needs.
struct GatedModel: PreferenceModel {
    let base: any PreferenceModel
    let gate: Gate

    var modelID: String { base.modelID }
    var contextLength: Int { base.contextLength }
    func tokenCount(_ text: String) -> Int { base.tokenCount(text) }
    func truncate(_ text: String, maxTokens: Int) -> String { base.truncate(text, maxTokens: maxTokens) }
    func promptTokens(_ turns: [ChatMessage]) throws -> [Int32] { try base.promptTokens(turns) }

    func logProbabilities(of responses: [String], after turns: [ChatMessage]) async throws -> [Double] {
        try await base.logProbabilities(of: responses, after: turns)
    }

    func logProbabilities(batch: [ScoringItem]) async throws -> [[Double]] {
        try await base.logProbabilities(batch: batch)
    }

    func sample(after turns: [ChatMessage], count: Int, settings: SamplingParameters) async throws -> SampleBatch {
        await gate.wait()
        return try await base.sample(after: turns, count: count, settings: settings)
    }

    func generate(_ prompt: Prompt, settings: SamplingParameters, prefixCache: PrefixCacheKey?,
                  onText: @escaping @Sendable (String) -> Void) async throws -> Generation {
        try await base.generate(prompt, settings: settings, prefixCache: prefixCache, onText: onText)
    }
}
