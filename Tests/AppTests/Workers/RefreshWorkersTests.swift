import Foundation
import Testing
@testable import App
import Store

@Suite struct RefreshWorkersTests {
    /// A job of a kind of its own (no worker claims it), run to its end by the test.
    func finishedJob(_ store: DataStore, kind: String) async throws -> JobID {
        let job = try await store.jobs.enqueue(NewJob(kind: kind)).job
        let claimed = try await store.jobs.claim(owner: "test", kinds: [kind])
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
}
