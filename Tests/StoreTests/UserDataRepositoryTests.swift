import Foundation
import Testing
@testable import Store

@Suite struct UserDataRepositoryTests {
    /// Tables that hold no per-user rows. Any other table must be covered by `rowsPerTable`;
    /// a new table fails this test until it is classified (and erased, if it holds user data).
    static let tablesWithoutUserRows: Set<String> = ["tenants", "api_keys", "schema_migrations", "job_tenant_turns"]

    /// Gives a user rows in every user table: events, summaries, jobs, usage.
    func populate(_ store: DataStore, tenant: TenantID, user name: String) async throws -> User {
        let result = try await store.feedback.ingest(
            tenant: tenant, externalUserID: name,
            events: [NewFeedbackEvent(idempotencyKey: "1", content: .pair(prompt: "p", chosen: "c", rejected: "r")),
                     NewFeedbackEvent(idempotencyKey: "2", content: .statement(text: "\(name) likes tea")),
                     NewFeedbackEvent(content: .content(text: "essay", prompt: nil))],
            refresh: { .summaryRefresh(for: $0) })
        _ = try await store.summaries.add(user: result.user.id, NewSummaryVersion(text: "summary of \(name)", modelID: "m", promptVersion: "v1"))
        _ = try await store.summaries.add(user: result.user.id, NewSummaryVersion(text: "newer", modelID: "m", promptVersion: "v1"))
        _ = try await store.jobs.enqueue(NewJob(kind: "test-other-\(UUID())", userID: result.user.id))
        try await store.usage.record(user: result.user.id, promptTokens: 3, completionTokens: 4)
        return result.user
    }

    /// Everything an export holds, its lists read in pages of `pageRows`, with the size of each page.
    struct Exported {
        let start: UserExport
        var events: [FeedbackEvent] = [], summaries: [SummaryVersion] = [], jobs: [Job] = []
        var pageSizes: [Int] = []
    }

    func exportAll(_ store: DataStore, tenant: TenantID, user: String, pageRows: Int = 100) async throws -> Exported? {
        guard let start = try await store.userData.export(tenant: tenant, externalUserID: user) else { return nil }
        return try await read(store, start, pageRows: pageRows)
    }

    func read(_ store: DataStore, _ start: UserExport, pageRows: Int) async throws -> Exported {
        var exported = Exported(start: start)
        while true {
            let page = try await store.userData.events(of: start, after: exported.events.last?.id, limit: pageRows)
            exported.pageSizes.append(page.count)
            exported.events += page
            if page.count < pageRows { break }
        }
        while true {
            let page = try await store.userData.summaries(of: start, after: exported.summaries.last?.version, limit: pageRows)
            exported.summaries += page
            if page.count < pageRows { break }
        }
        while true {
            let page = try await store.userData.jobs(of: start, after: exported.jobs.last?.id, limit: pageRows)
            exported.jobs += page
            if page.count < pageRows { break }
        }
        return exported
    }

    /// Rows for one user in every table of the schema that has a user column.
    func rowsPerTable(_ store: DataStore, _ user: UserID) async throws -> [String: Int] {
        let tables = try await store.pool.query("""
            SELECT table_name::text FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1
            """).map { try $0.decode(0, as: String.self) }
        var counts: [String: Int] = [:]
        for table in tables where !Self.tablesWithoutUserRows.contains(table) {
            let column = table == "users" ? "id" : "user_id"
            // Table names come from the catalog, not from input.
            counts[table] = try await store.pool.query(
                SQL(unsafeRaw: "SELECT count(*) FROM \(table) WHERE \(column) = ") + "\(user)")[0].decode(0, as: Int.self)
        }
        return counts
    }

    @Test func erasureRemovesEveryRowOfTheUserAndNothingElse() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let otherTenant = try await TestDatabase.tenant(store)
        let victim = try await populate(store, tenant: tenant.id, user: "victim")
        let neighbour = try await populate(store, tenant: tenant.id, user: "neighbour")
        // Same external id in another tenant: a different person.
        let namesake = try await populate(store, tenant: otherTenant.id, user: "victim")

        let before = try await rowsPerTable(store, victim.id)
        #expect(before == ["feedback_events": 3, "summary_versions": 2, "jobs": 2, "usage_counters": 1, "users": 1])
        let neighbourBefore = try await rowsPerTable(store, neighbour.id)
        let namesakeBefore = try await rowsPerTable(store, namesake.id)
        let neighbourExport = try await exportAll(store, tenant: tenant.id, user: "neighbour")

        let report = try #require(try await store.userData.erase(tenant: tenant.id, externalUserID: "victim"))
        #expect(report.feedbackEvents == 3)
        #expect(report.summaryVersions == 2)
        #expect(report.jobs == 2)
        #expect(report.usageCounters == 1)
        #expect(report.users == 1)
        #expect(report.total == 9)

        let after = try await rowsPerTable(store, victim.id)
        for (table, rows) in after.sorted(by: { $0.key < $1.key }) {
            #expect(rows == 0, "\(table) still has \(rows) rows of the erased user")
        }
        #expect(try await rowsPerTable(store, neighbour.id) == neighbourBefore)
        #expect(try await rowsPerTable(store, namesake.id) == namesakeBefore)
        let neighbourAfter = try await exportAll(store, tenant: tenant.id, user: "neighbour")
        #expect(neighbourAfter?.events == neighbourExport?.events)
        #expect(neighbourAfter?.summaries == neighbourExport?.summaries)
        #expect(neighbourAfter?.jobs == neighbourExport?.jobs)

        #expect(try await store.userData.erase(tenant: tenant.id, externalUserID: "victim") == nil)
        #expect(try await store.userData.export(tenant: tenant.id, externalUserID: "victim") == nil)
    }

    @Test func exportHasEverythingStoredAboutTheUser() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let user = try await populate(store, tenant: tenant.id, user: "exported")
        let export = try #require(try await exportAll(store, tenant: tenant.id, user: "exported"))
        #expect(export.start.user.id == user.id)
        #expect(export.events.map(\.content.kind) == [.pair, .statement, .content])
        #expect(export.events.map(\.idempotencyKey) == ["1", "2", nil])
        #expect(export.summaries.map(\.text) == ["summary of exported", "newer"])
        #expect(export.jobs.count == 2 && export.jobs.contains { $0.kind == NewJob.summaryRefreshKind })
        #expect(export.start.usage?.promptTokens == 3)
        // It matches the per-table row counts exactly.
        let counts = try await rowsPerTable(store, user.id)
        #expect(counts["feedback_events"] == export.events.count)
        #expect(counts["summary_versions"] == export.summaries.count)
        #expect(counts["jobs"] == export.jobs.count)
    }

    /// Pages hold at most their limit, stop at the rows that existed when the export started, and
    /// leave out rows deleted meanwhile; after an erasure the remaining pages are empty.
    @Test func exportPagesAreBoundedAndStopAtTheStart() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let user = try await populate(store, tenant: tenant.id, user: "paged")
        let more = (0..<7).map { NewFeedbackEvent(content: .statement(text: "fact \($0)")) }
        _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "paged", events: more)
        let start = try #require(try await store.userData.export(tenant: tenant.id, externalUserID: "paged"))

        // Written after the start: none of it shows.
        _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "paged",
                                            events: [NewFeedbackEvent(content: .statement(text: "later"))])
        _ = try await store.summaries.add(user: user.id, NewSummaryVersion(text: "later", modelID: "m", promptVersion: "v1"))
        _ = try await store.jobs.enqueue(NewJob(kind: "test-later-\(UUID())", userID: user.id))
        // Deleted after the start: gone from the pages.
        let all = try await store.feedback.list(user: user.id, limit: 100).events
        #expect(try await store.feedback.delete(user: user.id, id: all[1].id))

        let exported = try await read(store, start, pageRows: 3)
        #expect(exported.pageSizes == [3, 3, 3, 0])
        #expect(exported.events.map(\.id) == all.prefix(10).map(\.id).filter { $0 != all[1].id })
        #expect(!exported.events.contains { $0.content == .statement(text: "later") })
        #expect(exported.summaries.map(\.text) == ["summary of paged", "newer"])
        #expect(exported.jobs.count == 2)

        _ = try await store.userData.erase(tenant: tenant.id, externalUserID: "paged")
        let afterErasure = try await read(store, start, pageRows: 3)
        #expect(afterErasure.events.isEmpty && afterErasure.summaries.isEmpty && afterErasure.jobs.isEmpty)
    }

    @Test func aWorkerHoldingAnErasedUsersJobCannotComplete() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let kind = "test-erase-\(UUID())"
        let user = try await store.users.findOrCreate(tenant: tenant.id, externalID: "busy")
        let job = try await store.jobs.enqueue(NewJob(kind: kind, userID: user.id)).job
        _ = try await store.jobs.claim(owner: "w", kinds: [kind])
        #expect(try await store.userData.erase(tenant: tenant.id, externalUserID: "busy")?.jobs == 1)
        #expect(try await !store.jobs.complete(job.id, owner: "w"))
    }
}
