import Foundation
import Testing
@testable import App
import Store

/// Summaries on a real socket: refresh with `?wait=` through the real refresh worker and model,
/// ETag / 304, edited and pinned versions, versions list / get / restore.
@Suite struct SummaryControllerTests {
    @Test func refreshWithWaitStoresAScoredVersionAndTheETagFollowsIt() async throws {
        try await withService(workers: true) { service in
            let client = try await service.tenant().client
            #expect(try await client.get("/v1/users/erin/summary").status == 404, "no such user yet")
            let posted = try await client.post("/v1/users/erin/feedback", Fixtures.pairs(3))
            let eventIDs = (posted.json["items"]?.array ?? []).compactMap { $0["event_id"]?.int }

            // New feedback queued a (debounced) refresh; nothing inferred yet.
            let before = try await client.get("/v1/users/erin/summary")
            #expect(before.status == 200, "\(before)")
            #expect(before.json["status"]?.string == "refreshing" && before.json["version"]?.isNull == true)
            #expect(before.json["refresh_job"]?["state"]?.string == "pending")
            let emptyTag = try #require(before.header("ETag"))

            for bad in ["-1", "x", "100000"] {
                let refused = try await client.post("/v1/users/erin/summary/refresh?wait=\(bad)")
                #expect(refused.status == 400, "wait=\(bad): \(refused)")
            }
            // The explicit refresh starts now, not when the feedback's debounce ends (an hour here).
            let refreshed = try await client.post("/v1/users/erin/summary/refresh?wait=110")
            try #require(refreshed.status == 200, "\(refreshed)")
            let summary = refreshed.json
            #expect(summary["version"]?.int == 1 && summary["status"]?.string == "fresh", "\(summary.text)")
            #expect(summary["origin"]?.string == "inferred" && summary["pinned"]?.bool == false)
            #expect(summary["text"]?.string?.isEmpty == false)
            #expect(summary["reward"]?.number != nil && summary["accuracy"]?.number != nil, "scored on held-out pairs: \(summary.text)")
            if let accuracy = summary["accuracy"]?.number { #expect((0...1).contains(accuracy)) }
            #expect(summary["held_out_count"]?.int == 1 && summary["candidate_count"]?.int == 2)
            #expect((summary["summary_tokens"]?.int ?? 0) > 0 && (summary["raw_signal_tokens"]?.int ?? 0) > 0)
            #expect(Set((summary["source_event_ids"]?.array ?? []).compactMap(\.int)) == Set(eventIDs))
            #expect(summary["model"]?.string == service.model.modelID && summary["prompt_version"]?.string == "popi-v2")
            #expect(summary["adapter_sha256"]?.isNull == true, "the base model wrote it")
            #expect(summary["refresh_job"]?.isNull == true && summary["created_at"]?.string != nil)

            // ETag: the same representation answers 304 (no body); a new version changes it.
            let current = try await client.get("/v1/users/erin/summary")
            let tag = try #require(current.header("ETag"))
            #expect(tag != emptyTag && tag.hasPrefix("W/\""))
            #expect(current.json == summary)
            let notModified = try await client.get("/v1/users/erin/summary", headers: [("If-None-Match", tag)])
            #expect(notModified.status == 304 && notModified.body.isEmpty && notModified.header("ETag") == tag, "\(notModified)")
            let listed = try await client.get("/v1/users/erin/summary", headers: [("If-None-Match", "\"other\", \(tag)")])
            #expect(listed.status == 304)
            #expect(try await client.get("/v1/users/erin/summary", headers: [("If-None-Match", emptyTag)]).status == 200)

            let edited = try await client.put("/v1/users/erin/summary", ["text": "Prefers one-line answers.", "pinned": false])
            #expect(edited.status == 200 && edited.json["version"]?.int == 2, "\(edited)")
            let changed = try await client.get("/v1/users/erin/summary", headers: [("If-None-Match", tag)])
            #expect(changed.status == 200 && changed.header("ETag") != tag && changed.json["version"]?.int == 2, "\(changed)")

            let stored = try await client.get("/v1/users/erin/summary/versions/1")
            #expect(stored.status == 200 && stored.json["text"] == summary["text"] && stored.json["reward"] == summary["reward"])
        }
    }

    @Test func aRefreshWithoutWaitAnswers202WithItsJob() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            _ = try await client.post("/v1/users/fay/feedback", ["kind": "statement", "text": "I like short answers."])
            let queued = try await client.post("/v1/users/fay/summary/refresh")
            #expect(queued.status == 202, "\(queued)")
            #expect(queued.json["user_id"]?.string == "fay")
            let job = queued.json["refresh_job"]
            #expect(job?["kind"]?.string == "summary_refresh" && job?["state"]?.string == "pending" && job?["job_id"]?.int != nil)
            #expect(try await client.post("/v1/users/nobody/summary/refresh").status == 404)
        }
    }

    @Test func editedSummariesArePinnedScoredVersionedAndRestorable() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let user = "/v1/users/gus"
            _ = try await client.post("\(user)/feedback", Fixtures.pairs(2))
            let edited = try await client.put("\(user)/summary", ["text": "  Wants the shortest possible answer.  "])
            #expect(edited.status == 200, "\(edited)")
            let v1 = edited.json
            #expect(v1["version"]?.int == 1 && v1["origin"]?.string == "edited" && v1["pinned"]?.bool == true)
            #expect(v1["text"]?.string == "Wants the shortest possible answer.")
            // Scored on the user's pairs like any other version.
            #expect(v1["reward"]?.number != nil && v1["accuracy"]?.number != nil && v1["held_out_count"]?.int == 2, "\(v1.text)")
            #expect(v1["summary_tokens"]?.int == service.model.tokenCount("Wants the shortest possible answer."))
            #expect(v1["status"]?.string == "refreshing", "the feedback's debounced refresh is still queued")

            // Pinned: a refresh is refused, and the queued refresh will not replace it.
            let conflict = try await client.post("\(user)/summary/refresh?wait=0")
            #expect(conflict.status == 409 && conflict.errorCode == "summary_pinned", "\(conflict)")

            let unpinned = try await client.delete("\(user)/summary/pin")
            #expect(unpinned.status == 200 && unpinned.json["pinned"]?.bool == false && unpinned.json["version"]?.int == 1, "\(unpinned)")

            let v2 = try await client.put("\(user)/summary", ["text": "Likes numbered steps.", "pinned": false]).json
            #expect(v2["version"]?.int == 2 && v2["pinned"]?.bool == false)

            let versions = try await client.get("\(user)/summary/versions")
            #expect(versions.status == 200)
            #expect((versions.json["versions"]?.array ?? []).compactMap { $0["version"]?.int } == [2, 1], "newest first")
            let page = try await client.get("\(user)/summary/versions?limit=1")
            #expect(page.json["versions"]?.array?.count == 1 && page.json["next_before"]?.string == "2")
            let older = try await client.get("\(user)/summary/versions?limit=1&before=2")
            #expect((older.json["versions"]?.array ?? []).compactMap { $0["version"]?.int } == [1])
            #expect(older.json["next_before"]?.string == nil, "no cursor on the last page")

            let got = try await client.get("\(user)/summary/versions/1")
            #expect(got.status == 200 && got.json["text"]?.string == "Wants the shortest possible answer.")
            #expect(try await client.get("\(user)/summary/versions/9").errorCode == "version_not_found")
            #expect(try await client.get("\(user)/summary/versions/zero").status == 400)

            let restored = try await client.post("\(user)/summary/versions/1/restore")
            #expect(restored.status == 200, "\(restored)")
            #expect(restored.json["version"]?.int == 3 && restored.json["origin"]?.string == "restored")
            #expect(restored.json["restored_from"]?.int == 1 && restored.json["pinned"]?.bool == true)
            #expect(restored.json["text"]?.string == "Wants the shortest possible answer.")
            #expect(try await client.post("\(user)/summary/versions/7/restore").status == 404)

            // Validation of the edited text.
            for body: JSONValue in [[:], ["text": "   "], ["text": 5], ["text": "x", "pinned": "yes"],
                                    ["text": .string(String(repeating: "a", count: 9000))]] {
                let refused = try await client.put("\(user)/summary", body)
                #expect(refused.status == 400 && refused.errorCode == "invalid_request", "\(body.text.prefix(40)): \(refused)")
            }
        }
    }

    /// Each write of a summary route, overtaken by the user's erasure between the route's reads
    /// and its write (forced with real row locks): the user is gone, so 404 as after an erasure.
    @Test func writesTheUsersErasureOvertakesAre404NotServerErrors() async throws {
        try await withService { service in
            let tenant = try await service.tenant()
            let client = tenant.client
            // A statement makes the user without pairs, so an edit is not scored.
            let statement: JSONValue = ["kind": "statement", "text": "I like short answers."]
            let cases: [(name: String, prepare: @Sendable (String) async throws -> Void, request: @Sendable (String) async throws -> TestResponse)] = [
                ("edit", { _ in }, { try await client.put("\($0)/summary", ["text": "Short answers."]) }),
                ("restore", { _ = try await client.put("\($0)/summary", ["text": "Short answers."]) },
                 { try await client.post("\($0)/summary/versions/1/restore") }),
                ("refresh", { _ in }, { try await client.post("\($0)/summary/refresh") }),
                // Feedback newer than the pinned edit makes unpinning queue a refresh.
                ("unpin", { path in
                    _ = try await client.put("\(path)/summary", ["text": "Short answers."])
                    _ = try await client.post("\(path)/feedback", ["kind": "statement", "text": "And lists."])
                }, { try await client.delete("\($0)/summary/pin") }),
            ]
            for (name, prepare, request) in cases {
                let path = "/v1/users/erased-\(name)"
                #expect(try await client.post("\(path)/feedback", statement).status == 200)
                try await prepare(path)
                let id = try #require(try await service.userID(tenant, "erased-\(name)"))
                let answer = try await LockedInterleaving.run(
                    service.store.pool,
                    lock: ["SELECT id FROM users WHERE id = \(id) FOR UPDATE", "SELECT id FROM jobs WHERE user_id = \(id) FOR UPDATE"],
                    then: ["DELETE FROM users WHERE id = \(id)"]) { try await request(path) }
                #expect(answer.status == 404 && answer.errorCode == "user_not_found", "\(name): \(answer)")
            }
        }
    }

    /// An edit is scored on the user's newest pairs and reads only those: a user with 1,000 pairs
    /// (and a few statements and contents) costs the request a few dozen rows, not the history.
    @Test func anEditReadsOnlyThePairsItIsScoredOn() async throws {
        let store = try await AppTestEnvironment.ownStore()
        defer { store.pool.shutdown() }
        try await withService(store: store) { service in
            let tenant = try await service.tenant()
            let pairs = (1...1000).map { n in
                NewFeedbackEvent(content: .pair(prompt: "Question \(n)?", chosen: "Short \(n).", rejected: "A long answer, case \(n)."))
            }
            let others = [NewFeedbackEvent(content: .statement(text: "I like short answers.")),
                          NewFeedbackEvent(content: .content(text: "My essay.", prompt: nil))]
            _ = try await service.store.feedback.ingest(tenant: tenant.id, externalUserID: "ivy", events: pairs + others)
            let before = store.pool.statistics.rowsFetched
            let edited = try await tenant.client.put("/v1/users/ivy/summary", ["text": "Likes short answers."])
            let fetched = store.pool.statistics.rowsFetched - before
            #expect(edited.status == 200, "\(edited)")
            #expect(edited.json["held_out_count"]?.int == 4, "scored on the newest editedSummaryScoringPairs pairs")
            #expect(fetched < 50, "rows read for the edit: \(fetched)")
        }
    }

    /// `?wait=` sleeps until the job's completion is announced (NOTIFY): while it waits, the
    /// service reads nothing from the database (it used to poll every 200 ms), and it answers
    /// with the new version once a worker, here the test on another connection, finishes the job.
    @Test func aRefreshWaitIsWokenByTheJobsCompletionNotByPolling() async throws {
        try await AppTestEnvironment.withScratchStore { store in
            try await withService(store: store) { service in
                let tenant = try await service.tenant()
                #expect(try await tenant.client.post("/v1/users/hal/feedback", Fixtures.pairs(2)).status == 200)
                let user = try #require(try await service.userID(tenant, "hal"))
                let request = Task { try await tenant.client.post("/v1/users/hal/summary/refresh?wait=110") }
                // Queued and made due: the request is waiting for it now.
                try await waitUntil("the refresh is due") {
                    guard let job = try await store.jobs.list(user: user).first else { return false }
                    return job.state == .pending && job.runAfter <= Date()
                }
                try await waitUntil("the waiting request reads nothing", seconds: 15) {
                    let reads = store.pool.statistics.acquisitions
                    try await Task.sleep(for: .seconds(1))
                    return store.pool.statistics.acquisitions == reads
                }
                let job = try #require(try await store.jobs.claim(owner: "test", kinds: [NewJob.summaryRefreshKind]).jobs.first)
                let summary = NewSummaryVersion(text: "Likes short answers.", modelID: "m", promptVersion: "v")
                #expect(try await store.jobs.complete(job.id, owner: "test", storing: summary, for: user) != nil)
                let answered = try await request.value
                #expect(answered.status == 200, "\(answered)")
                #expect(answered.json["version"]?.int == 1 && answered.json["text"]?.string == "Likes short answers.")
            }
        }
    }

    /// Past the tenant's cap, feedback is stored without a refresh and an explicit refresh is
    /// refused with 429 `refresh_queue_full`; a refresh merging into a queued one still goes.
    @Test func aFullRefreshQueueStoresFeedbackWithoutARefreshAndRefusesOne() async throws {
        try await withService(configure: { $0.maxQueuedRefreshesPerTenant = 1 }) { service in
            let client = try await service.tenant().client
            let first = try await client.post("/v1/users/ida/feedback", Fixtures.pairs(1))
            #expect(first.status == 200 && first.json["refresh_job_id"]?.int != nil, "\(first)")
            let second = try await client.post("/v1/users/jon/feedback", Fixtures.pairs(1))
            #expect(second.status == 200 && second.json["inserted"]?.int == 1, "\(second)")
            #expect(second.json["refresh_job_id"]?.isNull == true, "stored, without a refresh")
            let refused = try await client.post("/v1/users/jon/summary/refresh")
            #expect(refused.status == 429 && refused.errorCode == "refresh_queue_full", "\(refused)")
            #expect(refused.header("Retry-After") == "60")
            #expect(try await client.post("/v1/users/ida/summary/refresh").status == 202, "merged into the queued refresh")
        }
    }
}
