import Foundation
import Testing
@testable import App

/// `POST / GET …/feedback` and `DELETE …/feedback/{event_id}` on a real socket.
@Suite struct FeedbackControllerTests {
    @Test func rePostingTheSameIdsGivesDuplicatesWithTheSameEventIDs() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let batch = Fixtures.batch([
                Fixtures.pair(1, id: "evt-1"),
                ["kind": "statement", "text": "I am a busy engineer.", "id": "evt-2"],
                ["kind": "content", "text": "Keep it short.", "prompt": "Your style?", "id": "evt-3",
                 "occurred_at": "2026-01-02T03:04:05Z", "metadata": ["source": "test"]],
            ])
            let first = try await client.post("/v1/users/alice/feedback", batch)
            #expect(first.status == 200, "\(first)")
            #expect(first.json["inserted"]?.int == 3 && first.json["duplicates"]?.int == 0 && first.json["invalid"]?.int == 0)
            let items = first.json["items"]?.array ?? []
            #expect(items.map { $0["status"]?.string } == ["inserted", "inserted", "inserted"])
            #expect(items.map { $0["id"]?.string } == ["evt-1", "evt-2", "evt-3"])
            let eventIDs = items.compactMap { $0["event_id"]?.int }
            #expect(Set(eventIDs).count == 3)
            let job = first.json["refresh_job_id"]?.int
            #expect(job != nil, "new feedback queues a refresh")

            let again = try await client.post("/v1/users/alice/feedback", batch)
            #expect(again.status == 200, "\(again)")
            #expect(again.json["inserted"]?.int == 0 && again.json["duplicates"]?.int == 3)
            let repeated = again.json["items"]?.array ?? []
            #expect(repeated.map { $0["status"]?.string } == ["duplicate", "duplicate", "duplicate"])
            #expect(repeated.compactMap { $0["event_id"]?.int } == eventIDs)

            // One event on its own (not in a batch) with a known id: a duplicate too.
            let single = try await client.post("/v1/users/alice/feedback", Fixtures.pair(1, id: "evt-1"))
            #expect(single.json["items"]?[0]?["status"]?.string == "duplicate")
            #expect(single.json["items"]?[0]?["event_id"]?.int == eventIDs[0])

            // Stored once each, with what was sent.
            let listed = try await client.get("/v1/users/alice/feedback").json["events"]?.array ?? []
            #expect(listed.compactMap { $0["event_id"]?.int } == eventIDs)
            #expect(listed.map { $0["kind"]?.string } == ["pair", "statement", "content"])
            #expect(listed[0]["chosen"]?.string == "Boil it for 7 minutes.")
            #expect(listed[1]["text"]?.string == "I am a busy engineer.")
            #expect(listed[2]["prompt"]?.string == "Your style?")
            #expect(listed[2]["occurred_at"]?.string?.hasPrefix("2026-01-02T03:04:05") == true)
            #expect(listed[2]["metadata"]?["source"]?.string == "test")
        }
    }

    @Test func invalidItemsAreReportedOneByOneAndValidOnesStored() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let batch = Fixtures.batch([
                Fixtures.pair(1),
                ["kind": "pair", "prompt": "p", "chosen": "a"],
                ["kind": "pair", "prompt": "p", "chosen": "same", "rejected": "same"],
                ["kind": "opinion", "text": "x"],
                ["kind": "statement", "text": "   "],
                ["kind": "statement", "text": "fine", "occurred_at": "yesterday"],
                "not an object",
                ["kind": "statement", "text": 42],
                ["kind": "statement", "text": "ok", "id": .string(String(repeating: "k", count: 300))],
                ["kind": "statement", "text": "I like lists."],
            ])
            let response = try await client.post("/v1/users/bob/feedback", batch)
            #expect(response.status == 200, "\(response)")
            #expect(response.json["inserted"]?.int == 2 && response.json["invalid"]?.int == 8)
            let items = response.json["items"]?.array ?? []
            #expect(items.count == 10)
            #expect(items.enumerated().allSatisfy { $0.element["index"]?.int == $0.offset })
            let expectedReasons: [Int: String] = [
                1: "events[1].rejected: is required",
                2: "events[2].rejected: must differ from chosen",
                3: "events[3].kind: must be pair, statement or content",
                4: "events[4].text: must not be empty",
                5: "events[5].occurred_at: must be an RFC 3339 date-time",
                6: "events[6]: must be an object",
                7: "events[7].text: must be a string",
                8: "events[8].id: longer than 256 bytes",
            ]
            for (index, reason) in expectedReasons {
                #expect(items[index]["status"]?.string == "invalid", "item \(index)")
                #expect(items[index]["reason"]?.string?.hasPrefix(reason) == true,
                        "item \(index): \(items[index]["reason"]?.string ?? "no reason")")
                #expect(items[index]["event_id"] == nil)
            }
            #expect(items[0]["status"]?.string == "inserted" && items[9]["status"]?.string == "inserted")
            let stored = try await client.get("/v1/users/bob/feedback").json["events"]?.array ?? []
            #expect(stored.compactMap { $0["event_id"]?.int } == [items[0]["event_id"]?.int, items[9]["event_id"]?.int].compactMap { $0 })

            // A request that is wrong as a whole is a 400, not a list of items.
            for (what, body) in [("empty batch", Fixtures.batch([])), ("events not a list", ["events": "x"]),
                                 ("a JSON array", [Fixtures.pair(1)]), ("a lone invalid event", ["kind": "pair"])] as [(String, JSONValue)] {
                let refused = try await client.post("/v1/users/bob/feedback", body)
                #expect(refused.status == (what == "a lone invalid event" ? 200 : 400), "\(what): \(refused)")
            }
            let tooMany = try await withService(configure: { $0.maxBatchEvents = 3 }) { small in
                try await small.client(client.key).post("/v1/users/bob/feedback", Fixtures.pairs(4))
            }
            #expect(tooMany.status == 400 && tooMany.errorMessage?.contains("at most 3") == true, "\(tooMany)")
        }
    }

    @Test func paginationWalksEveryEventExactlyOnce() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let posted = try await client.post("/v1/users/carol/feedback", Fixtures.pairs(7))
            let ids = (posted.json["items"]?.array ?? []).compactMap { $0["event_id"]?.int }
            #expect(ids.count == 7)

            var seen: [Int] = []
            var pages: [Int] = []
            var cursor: String?
            repeat {
                let page = try await client.get("/v1/users/carol/feedback?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(page.status == 200, "\(page)")
                let events = page.json["events"]?.array ?? []
                pages.append(events.count)
                seen += events.compactMap { $0["event_id"]?.int }
                cursor = page.json["next_cursor"]?.string
                #expect(pages.count <= 4, "the walk does not end")
            } while cursor != nil && pages.count <= 4
            #expect(seen == ids.sorted(), "every event once, oldest first")
            #expect(pages.prefix(2) == [3, 3] && pages.reduce(0, +) == 7)

            let whole = try await client.get("/v1/users/carol/feedback?limit=200").json["events"]?.array ?? []
            #expect(whole.compactMap { $0["event_id"]?.int } == ids.sorted())
            for bad in ["limit=0", "limit=201", "limit=x", "cursor=-1", "cursor=abc"] {
                let refused = try await client.get("/v1/users/carol/feedback?\(bad)")
                #expect(refused.status == 400 && refused.errorCode == "invalid_request", "\(bad): \(refused)")
            }
        }
    }

    @Test func deletingAnEventRemovesItAndUnknownEventsAre404() async throws {
        try await withService { service in
            let tenant = try await service.tenant()
            let client = tenant.client
            let ids = (try await client.post("/v1/users/dan/feedback", Fixtures.pairs(2)).json["items"]?.array ?? [])
                .compactMap { $0["event_id"]?.int }
            #expect(ids.count == 2)
            let deleted = try await client.delete("/v1/users/dan/feedback/\(ids[0])")
            #expect(deleted.status == 204 && deleted.body.isEmpty, "\(deleted)")
            let again = try await client.delete("/v1/users/dan/feedback/\(ids[0])")
            #expect(again.status == 404 && again.errorCode == "event_not_found", "\(again)")
            #expect(try await client.delete("/v1/users/dan/feedback/notanumber").status == 400)
            #expect(try await client.delete("/v1/users/nobody/feedback/\(ids[1])").status == 404)
            let left = try await client.get("/v1/users/dan/feedback").json["events"]?.array ?? []
            #expect(left.compactMap { $0["event_id"]?.int } == [ids[1]])
        }
    }

    @Test func feedbackPastAStorageQuotaIs413NamingTheLimitAndAdminsSeeTheUsage() async throws {
        try await withService(configure: { $0.storageQuota.userEvents = 2 }) { service in
            let tenant = try await service.tenant()
            let client = tenant.client
            let two = Fixtures.batch([["kind": "statement", "text": "One.", "id": "q1"], ["kind": "statement", "text": "Two.", "id": "q2"]])
            #expect(try await client.post("/v1/users/quinn/feedback", two).status == 200)
            let third = try await client.post("/v1/users/quinn/feedback", ["kind": "statement", "text": "Three."])
            #expect(third.status == 413 && third.errorCode == "quota_exceeded", "\(third)")
            #expect(third.errorMessage?.contains("user") == true && third.errorMessage?.contains("limit is 2 events") == true,
                    "\(third.errorMessage ?? "")")
            #expect(service.metrics.registry.value("popi_quota_rejections_total", ["user", "events"]) == 1)
            // Nothing of the refused post was stored; re-sending stored events still works.
            #expect(try await client.get("/v1/users/quinn/feedback").json["events"]?.array?.count == 2)
            #expect(try await client.post("/v1/users/quinn/feedback", two).status == 200)
            // Another user of the tenant has a quota of its own.
            #expect(try await client.post("/v1/users/rae/feedback", ["kind": "statement", "text": "Hi."]).status == 200)

            let admin = try await service.tenant("admin", scopes: [.admin]).client
            let tenants = try await admin.get("/v1/admin/tenants").json["tenants"]?.array ?? []
            let row = try #require(tenants.first { $0["tenant_id"]?.string == tenant.id.description })
            // "One." "Two." "Hi." (4 + 4 + 3 bytes), metadata "{}" each, ids "q1" "q2".
            #expect(row["stored_events"]?.int == 3 && row["stored_bytes"]?.int == 4 + 4 + 3 + 3 * 2 + 2 + 2, "\(row)")
        }
    }

    /// `occurred_at` beyond four-digit years (which Foundation's parser takes, and PostgreSQL
    /// refuses past 294276 AD), before year 0000 in UTC, or on an impossible date: that item is
    /// `invalid`, and the rest of the batch is stored.
    @Test func occurredAtOutsideTheRangeIsAnInvalidItemAndTheRestIsStored() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            func pair(_ n: Int, at time: String) -> JSONValue {
                guard case .object(var fields) = Fixtures.pair(n) else { return .null }
                fields["occurred_at"] = .string(time)
                return .object(fields)
            }
            let batch = Fixtures.batch([
                pair(1, at: "300000-01-01T00:00:00Z"), pair(2, at: "9999-12-31T23:59:59Z"), pair(3, at: "99999-01-01T00:00:00Z"),
                pair(4, at: "0000-01-01T00:00:00+01:00"), pair(5, at: "2026-02-30T10:00:00Z"), pair(6, at: "0000-01-01T00:00:00Z"),
                Fixtures.pair(7),
            ])
            let answer = try await client.post("/v1/users/tess/feedback", batch)
            #expect(answer.status == 200, "\(answer)")
            let items = answer.json["items"]?.array ?? []
            #expect(items.map { $0["status"]?.string } == ["invalid", "inserted", "invalid", "invalid", "invalid", "inserted", "inserted"])
            #expect(answer.json["items"]?[0]?["reason"]?.string?.hasPrefix("events[0].occurred_at: must be an RFC 3339 date-time") == true, "\(answer)")
            let stored = try await client.get("/v1/users/tess/feedback").json["events"]?.array ?? []
            #expect(stored.map { $0["occurred_at"]?.string }.prefix(2) == ["9999-12-31T23:59:59.000Z", "0000-01-01T00:00:00.000Z"],
                    "written back as given, in UTC")
            #expect(stored.count == 3)
        }
    }

    /// A post that waits on an erasure of its user (forced with the erasure's row lock) comes
    /// after it: it stores its events for a new user of that id, like any post after an erasure.
    @Test func aPostTheUsersErasureHoldsUpStoresForANewUser() async throws {
        try await withService { service in
            let tenant = try await service.tenant()
            #expect(try await tenant.client.post("/v1/users/eve/feedback", Fixtures.pair(1)).status == 200)
            let erased = try #require(try await service.userID(tenant, "eve"))
            let posted = try await LockedInterleaving.run(service.store.pool,
                                                          lock: ["SELECT id FROM users WHERE id = \(erased) FOR UPDATE"],
                                                          then: ["DELETE FROM users WHERE id = \(erased)"]) {
                try await tenant.client.post("/v1/users/eve/feedback", Fixtures.pair(2))
            }
            #expect(posted.status == 200 && posted.json["inserted"]?.int == 1, "\(posted)")
            let user = try await service.userID(tenant, "eve")
            #expect(user != nil && user != erased)
            let events = try await tenant.client.get("/v1/users/eve/feedback").json["events"]?.array ?? []
            #expect(events.map { $0["chosen"]?.string } == ["Boil it for 8 minutes."], "nothing of the erased user")
        }
    }
}
