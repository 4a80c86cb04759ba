import Foundation
import Logging
import Personalization
import Store
import Synchronization

/// Summary refresh workers: claim `summary_refresh` jobs from the shared PostgreSQL queue (any
/// number of replicas may run them), infer a summary with POPI's best-of-N (the summarizer,
/// with its adapter if one is served, writes the candidates; the base model scores them), store
/// it as a new version that records the adapter. A pinned summary is left alone. Failures go
/// back to the queue with backoff.
///
/// A job's lease is renewed every third of it while the inference runs, so a long refresh is
/// not taken by another worker, while a crashed worker's job is free again within one lease. The
/// new version and the job's completion commit in one transaction.
final class RefreshWorkers: Sendable {
    /// Pairs given to the summarizer: the newest, enough for the held-out split and the prompt.
    static let pairsConsidered = 16
    /// Finished jobs are kept this long (seconds: they show in a user's export and help debugging).
    static let finishedJobRetention: Double = 7 * 86400
    static let purgeInterval: Duration = .seconds(3600)
    /// `--refresh-lease`'s default.
    static let defaultLease: Duration = .seconds(60)

    private let store: DataStore
    private let models: ServedModels
    private let options: SummaryOptions
    private let metrics: ServiceMetrics
    private let logger: Logger
    private let count: Int
    private let owner: String
    private let pollInterval: Duration
    /// How long a claim holds a job without renewal: how soon a crashed worker's job runs again.
    private let lease: Duration
    private let tasks = Mutex<[Task<Void, Never>]>([])

    init(store: DataStore, models: ServedModels, options: SummaryOptions, metrics: ServiceMetrics,
         logger: Logger, count: Int, pollInterval: Duration = .milliseconds(500), lease: Duration = defaultLease) {
        self.store = store
        self.models = models
        self.options = options
        self.metrics = metrics
        self.logger = logger
        self.count = count
        self.pollInterval = pollInterval
        self.lease = lease
        owner = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(8))"
    }

    func start() {
        let started = (0..<count).map { index in
            Task { await self.loop(name: "\(owner)-\(index)") }
        }
        let statistics = Task { await self.publishQueueStatistics() }
        tasks.withLock { $0 = started + [statistics] }
    }

    /// Stops claiming; a job in progress is handed back to the queue at once.
    func stop() async {
        let running = tasks.withLock { tasks in
            defer { tasks = [] }
            return tasks
        }
        running.forEach { $0.cancel() }
        for task in running { await task.value }
    }

    private func loop(name: String) async {
        while !Task.isCancelled {
            do {
                let claimed = try await store.jobs.claim(owner: name, kinds: [NewJob.summaryRefreshKind], limit: 1,
                                                         lease: lease.seconds)
                metrics.record(claim: claimed)
                if claimed.failedOnExpiredLease > 0 {
                    logger.error("refresh jobs failed: their lease expired on the last attempt",
                                 metadata: ["count": "\(claimed.failedOnExpiredLease)"])
                }
                guard let job = claimed.jobs.first else {
                    try await Task.sleep(for: pollInterval)
                    continue
                }
                if claimed.reclaimed > 0 {
                    // Another worker (on any replica) crashed or hung holding this job.
                    logger.warning("refresh job reclaimed after its lease expired",
                                   metadata: ["job_id": "\(job.id)", "attempt": "\(job.attempts)"])
                }
                await process(job, owner: name)
            } catch is CancellationError {
                return
            } catch {
                logger.warning("refresh worker cannot reach the queue", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }

    func process(_ job: Job, owner: String) async {
        let started = ContinuousClock.now
        func finish(_ outcome: String) {
            metrics.registry.observe("popi_refresh_job_duration_seconds", [outcome], (ContinuousClock.now - started) / .seconds(1))
        }
        do {
            let limit = options.limits.maxPairs
            guard let userID = job.userID, let snapshot = try await store.feedback.newestSignals(
                user: userID, pairs: Self.pairsConsidered, statements: limit, contents: limit) else {
                _ = try await store.jobs.complete(job.id, owner: owner)  // the user was erased meanwhile
                return finish("skipped")
            }
            if try await store.summaries.current(user: userID)?.pinned == true {
                _ = try await store.jobs.complete(job.id, owner: owner)
                return finish("skipped")
            }
            let (signals, sources) = Self.signals(from: snapshot.events, limit: limit)
            let optimizer = SummaryOptimizer(model: models.base, summarizer: models.summarizer, options: options)
            let result = try await renewingLease(of: job, owner: owner) { try await optimizer.infer(from: signals) }
            let scores = SummaryScores(reward: result.reward, accuracy: result.accuracy, heldOutCount: result.heldOutCount,
                                       candidateCount: result.candidatesTried, summaryTokens: result.summaryTokens,
                                       rawSignalTokens: result.rawSignalTokens)
            // Stored only while still holding the job, and together with its completion.
            let version = NewSummaryVersion(
                text: result.text, sourceEventIDs: sources, feedbackRevision: snapshot.user.feedbackRevision,
                modelID: result.modelID, promptVersion: result.promptVersion, adapterSHA256: models.summarizerAdapter?.sha256,
                scores: scores, origin: .inferred, pinned: false)
            guard try await store.jobs.complete(job.id, owner: owner, storing: version, for: userID) != nil else {
                return finish("lost")
            }
            if let reward = result.reward { metrics.registry.observe("popi_refresh_reward", [], reward) }
            if let accuracy = result.accuracy { metrics.registry.observe("popi_refresh_accuracy", [], accuracy) }
            logger.info("summary refreshed", metadata: [
                "job_id": "\(job.id)", "candidates": "\(result.candidatesTried)", "held_out": "\(result.heldOutCount)",
                "seconds": "\(String(format: "%.1f", result.timings.totalSeconds))",
            ])
            finish("done")
        } catch PersonalizationError.noSignals {
            _ = try? await store.jobs.complete(job.id, owner: owner)
            finish("skipped")
        } catch is LeaseLost {
            // Another worker holds the job now (this one stalled past its lease): it does the work.
            logger.warning("refresh job lost its lease", metadata: ["job_id": "\(job.id)"])
            finish("lost")
        } catch where Task.isCancelled {
            // Stopping cancels this task, and a cancelled task cannot take a pooled connection: the
            // hand-back runs in a task of its own, so the job is claimable at once, not after its lease.
            let store = self.store
            await Task.detached {
                _ = try? await store.jobs.fail(job.id, owner: owner, error: "worker stopped", retry: true,
                                               policy: RetryPolicy(base: 0, cap: 0))
            }.value
            finish("cancelled")
        } catch {
            metrics.registry.increment("popi_refresh_job_failures_total")
            logger.error("summary refresh failed", metadata: ["job_id": "\(job.id)", "error": "\(error)"])
            _ = try? await store.jobs.fail(job.id, owner: owner, error: "\(error)")
            finish("failed")
        }
    }

    /// Runs `work` while renewing the job's lease every third of it. Throws `LeaseLost` (and
    /// cancels the work) when a renewal finds the job taken; a renewal the database refuses is
    /// logged and tried again at the next tick, while the lease still runs.
    private func renewingLease<T: Sendable>(of job: Job, owner: String,
                                            _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let store = self.store, lease = self.lease, logger = self.logger
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                while true {
                    try await Task.sleep(for: lease / 3)
                    do {
                        guard try await store.jobs.extendLease(job.id, owner: owner, by: lease.seconds) else { throw LeaseLost() }
                    } catch let error as StoreError {
                        logger.warning("cannot renew a refresh job's lease", metadata: ["job_id": "\(job.id)", "error": "\(error)"])
                    }
                }
            }
            defer { group.cancelAll() }
            // The renewal child never returns (it only throws), so the first result is the work's.
            for try await result in group {
                if let value = result { return value }
            }
            throw CancellationError()
        }
    }

    /// The user's events as POPI signals (oldest first): the newest pairs, statements and content
    /// items, and the ids of the events given.
    static func signals(from events: [FeedbackEvent], limit: Int) -> (UserSignals, [EventID]) {
        let pairs = events.filter { $0.content.kind == .pair }.suffix(pairsConsidered)
        let statements = events.filter { $0.content.kind == .statement }.suffix(limit)
        let contents = events.filter { $0.content.kind == .content }.suffix(limit)
        var signals = UserSignals()
        for event in pairs {
            if case let .pair(prompt, chosen, rejected) = event.content {
                signals.pairs.append(PreferencePair(prompt: prompt, chosen: chosen, rejected: rejected))
            }
        }
        for event in statements {
            if case let .statement(text) = event.content { signals.statements.append(text) }
        }
        for event in contents {
            if case let .content(text, prompt) = event.content { signals.contents.append(.init(text: text, prompt: prompt)) }
        }
        let ids = (Array(pairs) + Array(statements) + Array(contents)).map(\.id).sorted()
        return (signals, ids)
    }

    /// Queue depth for `/metrics`, read every few seconds (a scrape must not wait on the
    /// database); at start and then about once an hour, old finished jobs are purged so the
    /// table does not grow forever. Every replica purges: the delete is idempotent.
    private func publishQueueStatistics() async {
        var nextPurge = ContinuousClock.now
        while !Task.isCancelled {
            if let statistics = try? await store.jobs.statistics() { metrics.record(queue: statistics) }
            metrics.record(droppedRefreshes: store.queueCounters.droppedOverTenantCap)
            if ContinuousClock.now >= nextPurge {
                nextPurge = .now + Self.purgeInterval
                await purgeFinishedJobs()
            }
            try? await Task.sleep(for: .seconds(5))
        }
    }

    private func purgeFinishedJobs() async {
        do {
            let purged = try await store.jobs.purgeFinished(olderThan: Self.finishedJobRetention)
            if purged > 0 { logger.info("finished jobs purged", metadata: ["count": "\(purged)"]) }
        } catch is CancellationError {
            return
        } catch {
            logger.warning("cannot purge finished jobs", metadata: ["error": "\(error)"])
        }
    }
}

/// A renewal found the job held by another worker.
private struct LeaseLost: Error {}

extension Duration {
    /// In seconds, as the job queue takes leases.
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
