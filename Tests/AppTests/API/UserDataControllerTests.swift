import Foundation
import Testing
@testable import App
@testable import Store

/// Erasure and export on a real socket, checked against the database itself.
@Suite struct UserDataControllerTests {
    /// Gives `user` a row in every per-user table: feedback (and the user row), a refresh job,
    /// a summary version, usage counters.
    static func populate(_ client: TestHTTPClient, _ user: String) async throws {
        #expect(try await client.post("/v1/users/\(user)/feedback", Fixtures.batch([
            Fixtures.pair(1, id: "\(user)-p1"), ["kind": "statement", "text": .string("\(user) writes poems.")],
        ])).status == 200)
        #expect(try await client.put("/v1/users/\(user)/summary", ["text": .string("\(user) likes rhymes.")]).status == 200)
        #expect(try await client.post("/v1/users/\(user)/generate", ["prompt": "Hi", "max_tokens": 2, "temperature": 0]).status == 200)
    }

    /// Every table with a `user_id` column, from the catalog, so a table added later is checked too.
    static func userTables(_ store: DataStore) async throws -> [String] {
        try await store.pool.query("""
            SELECT table_name::text FROM information_schema.columns
            WHERE table_schema = current_schema() AND column_name = 'user_id' ORDER BY table_name
            """).map { try $0.decode(0, as: String.self) }
    }

    /// Rows about one user in each table (`users` by its id).
    static func rowCounts(_ store: DataStore, _ user: UserID, tables: [String]) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in tables + ["users"] {
            // Table names come from the catalog above (or are ours), never from input.
            let column = table == "users" ? "id" : "user_id"
            let sql = SQL(unsafeRaw: "SELECT count(*)::bigint FROM \(table) WHERE \(column) = ") + "\(user.rawValue)"
            counts[table] = Int(try await store.pool.query(sql)[0].decode(0, as: Int64.self))
        }
        return counts
    }

    /// Rows anywhere in the schema whose text mentions `needle` (every text, jsonb and array
    /// column of every table).
    static func mentions(_ store: DataStore, _ needle: String) async throws -> [String] {
        let columns = try await store.pool.query("""
            SELECT table_name::text, column_name::text FROM information_schema.columns
            WHERE table_schema = current_schema() AND data_type IN ('text', 'jsonb', 'ARRAY', 'character varying')
            ORDER BY table_name, column_name
            """).map { try ($0.decode(0, as: String.self), $0.decode(1, as: String.self)) }
        var found: [String] = []
        for (table, column) in columns {
            // Names come from the catalog, never from input; the needle is a bound parameter.
            let pattern = "%\(needle)%"
            let sql = SQL(unsafeRaw: "SELECT count(*)::bigint FROM \(table) WHERE \(column)::text LIKE ") + "\(pattern)"
            let count = try await store.pool.query(sql)[0].decode(0, as: Int64.self)
            if count > 0 { found.append("\(table).\(column): \(count)") }
        }
        return found
    }

    @Test func erasureLeavesNoRowForTheUserAndSparesTheirNeighbour() async throws {
        try await withService { service in
            let tenant = try await service.tenant()
            let miaName = "mia-\(UUID().uuidString.prefix(8))", nedName = "ned-\(UUID().uuidString.prefix(8))"
            try await Self.populate(tenant.client, miaName)
            try await Self.populate(tenant.client, nedName)
            let mia = try #require(try await service.userID(tenant, miaName))
            let ned = try #require(try await service.userID(tenant, nedName))
            #expect(try await Self.mentions(service.store, miaName).count >= 3, "the user's id and texts are stored")

            let tables = try await Self.userTables(service.store)
            #expect(Set(tables).isSuperset(of: ["feedback_events", "summary_versions", "usage_counters", "jobs"]), "\(tables)")
            let before = try await Self.rowCounts(service.store, mia, tables: tables)
            #expect(before.values.allSatisfy { $0 > 0 }, "the fixture reaches every table: \(before)")
            let neighbour = try await Self.rowCounts(service.store, ned, tables: tables)

            let erased = try await tenant.client.delete("/v1/users/\(miaName)")
            #expect(erased.status == 200, "\(erased)")
            #expect(erased.json["user_id"]?.string == miaName)
            let deleted = erased.json["deleted"]?.object ?? [:]
            #expect(erased.json["total"]?.int == deleted.values.compactMap(\.int).reduce(0, +))
            #expect(deleted["feedback_events"]?.int == before["feedback_events"] && deleted["summary_versions"]?.int == before["summary_versions"])

            let after = try await Self.rowCounts(service.store, mia, tables: tables)
            for table in tables + ["users"] {
                #expect(after[table] == 0, "\(table) still holds \(after[table] ?? -1) rows about the erased user")
            }
            #expect(try await Self.mentions(service.store, miaName) == [], "no trace of the erased user anywhere")
            #expect(try await Self.rowCounts(service.store, ned, tables: tables) == neighbour, "the other user keeps everything")

            // Gone through the API too; erasing again is a 404.
            #expect(try await tenant.client.get("/v1/users/\(miaName)/summary").status == 404)
            #expect(try await tenant.client.get("/v1/users/\(miaName)/export").status == 404)
            let again = try await tenant.client.delete("/v1/users/\(miaName)")
            #expect(again.status == 404 && again.errorCode == "user_not_found", "\(again)")
            #expect(try await tenant.client.get("/v1/users/\(nedName)/summary").json["version"]?.int == 1)
        }
    }

    @Test func exportHoldsEverythingStoredAboutTheUser() async throws {
        try await withService { service in
            let tenant = try await service.tenant()
            try await Self.populate(tenant.client, "ola")
            try await Self.populate(tenant.client, "pia")

            let export = try await tenant.client.get("/v1/users/ola/export")
            #expect(export.status == 200, "\(export)")
            #expect(export.header("Content-Disposition")?.contains("attachment") == true)
            let body = export.json
            #expect(body["user"]?["user_id"]?.string == "ola" && body["user"]?["created_at"]?.string != nil)
            #expect((body["user"]?["feedback_revision"]?.int ?? 0) >= 1)
            let feedback = body["feedback"]?.array ?? []
            #expect(feedback.map { $0["kind"]?.string } == ["pair", "statement"])
            #expect(feedback[0]["id"]?.string == "ola-p1" && feedback[0]["chosen"]?.string == "Boil it for 7 minutes.")
            #expect(feedback[1]["text"]?.string == "ola writes poems.")
            let summaries = body["summaries"]?.array ?? []
            #expect(summaries.count == 1 && summaries[0]["text"]?.string == "ola likes rhymes." && summaries[0]["origin"]?.string == "edited")
            let jobs = body["jobs"]?.array ?? []
            #expect(jobs.count == 1 && jobs[0]["kind"]?.string == "summary_refresh")
            let usage = try #require(body["usage"])
            #expect(usage["generations"]?.int == 1 && (usage["completion_tokens"]?.int ?? 0) >= 1 && (usage["prompt_tokens"]?.int ?? 0) > 0)
            // Nothing about the neighbour.
            #expect(!export.text.contains("pia"))
        }
    }

    /// The whole export as one document, the way it was encoded before it was streamed: the
    /// streamed bytes must be exactly these.
    struct WholeExport: Encodable {
        let user: API.UserExport.User
        let feedback: [API.FeedbackEvent]
        let summaries: [API.SummaryVersion]
        let jobs: [API.Job]
        @Nullable var usage: API.UsageCounters?
    }

    static func wholeExport(_ store: DataStore, _ user: User) async throws -> [UInt8] {
        var events: [FeedbackEvent] = []
        var cursor: EventID?
        repeat {
            let page = try await store.feedback.list(user: user.id, after: cursor, limit: 1000)
            events += page.events
            cursor = page.nextCursor
        } while cursor != nil
        return try JSONBody.encode(WholeExport(
            user: API.UserExport.User(userID: user.externalID, createdAt: user.createdAt, lastFeedbackAt: user.lastFeedbackAt,
                                      feedbackRevision: user.feedbackRevision),
            feedback: events.map(API.FeedbackEvent.init),
            summaries: try await store.summaries.list(user: user.id, limit: 1000).reversed().map(API.SummaryVersion.init),
            jobs: try await store.jobs.list(user: user.id, limit: 1000).reversed().map(API.Job.init),
            usage: try await store.usage.get(user: user.id).map(API.UsageCounters.init)))
    }

    /// A large export is streamed (chunked) page by page, so the server holds one page of rows at
    /// a time (500 per query and per chunk), yet its bytes are those of the whole document.
    @Test func aLargeExportIsStreamedInPagesWithTheSameBytes() async throws {
        try await withService { service in
            let tenant = try await service.tenant()
            try await Self.populate(tenant.client, "quinn")
            let events = (0..<1201).map { n in
                NewFeedbackEvent(idempotencyKey: "bulk-\(n)", content: n % 3 == 0
                    ? .pair(prompt: "Prompt \(n) \"quoted\" / slashed", chosen: "Yes \(n)", rejected: "No \(n)")
                    : .statement(text: "Fact \(n): ünïcödé \u{1F600}"), metadata: JSONB(text: #"{"n": \#(n), "tag": "x"}"#))
            }
            _ = try await service.store.feedback.ingest(tenant: tenant.id, externalUserID: "quinn", events: events)
            let user = try #require(try await service.store.users.find(tenant: tenant.id, externalID: "quinn"))

            let export = try await tenant.client.get("/v1/users/quinn/export")
            #expect(export.status == 200, "\(export)")
            #expect(export.header("Content-Type") == "application/json")
            #expect(export.header("Content-Disposition")?.contains("attachment") == true)
            #expect(export.chunked, "streamed, not one buffered body")
            let eventsPerChunk = export.chunks.map { String(decoding: $0, as: UTF8.self).components(separatedBy: #""event_id":"#).count - 1 }
            #expect(eventsPerChunk.reduce(0, +) == 1203)
            #expect(eventsPerChunk.filter { $0 > 0 }.count >= 3 && eventsPerChunk.allSatisfy { $0 <= 500 }, "\(eventsPerChunk)")
            let expected = try await Self.wholeExport(service.store, user)
            #expect(export.body == expected, "byte for byte the document JSONBody encodes")
        }
    }
}
