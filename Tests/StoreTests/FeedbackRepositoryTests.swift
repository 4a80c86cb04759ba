import Foundation
import Testing
@testable import Store

@Suite struct FeedbackRepositoryTests {
    static func pair(_ key: String?, _ n: Int = 0) -> NewFeedbackEvent {
        NewFeedbackEvent(idempotencyKey: key,
                         content: .pair(prompt: "prompt \(n)", chosen: "chosen \(n)", rejected: "rejected \(n)"))
    }

    @Test func ingestsEveryKindAndReadsItBack() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let occurred = Date(timeIntervalSince1970: 1_700_000_000)
        let events = [
            NewFeedbackEvent(idempotencyKey: "p1", content: .pair(prompt: "Explain DNS", chosen: "Short answer", rejected: "Long essay"),
                             metadata: JSONB(text: #"{"source":"app"}"#), occurredAt: occurred),
            NewFeedbackEvent(content: .statement(text: "I am a nurse")),
            NewFeedbackEvent(idempotencyKey: "c1", content: .content(text: "My blog post", prompt: nil)),
            NewFeedbackEvent(idempotencyKey: "c2", content: .content(text: "My answer", prompt: "A question")),
        ]
        let result = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "alice", events: events)
        #expect(result.insertedCount == 4)
        #expect(result.user.externalID == "alice")
        #expect(result.user.feedbackRevision == 1)
        #expect(result.refreshJob == nil)

        let page = try await store.feedback.list(user: result.user.id)
        #expect(page.events.map(\.content) == events.map(\.content))
        #expect(page.events.map(\.idempotencyKey) == ["p1", nil, "c1", "c2"])
        #expect(page.events[0].occurredAt == occurred)
        #expect(page.events[0].metadata.text == #"{"source": "app"}"#)
        #expect(page.nextCursor == nil)
        let ids = result.items.map { item -> EventID in
            guard case .inserted(let id) = item else { fatalError("not inserted") }
            return id
        }
        #expect(page.events.map(\.id) == ids)
        #expect(try await store.feedback.get(user: result.user.id, id: ids[1])?.content == .statement(text: "I am a nurse"))
        #expect(try await store.feedback.counts(user: result.user.id) == [.pair: 1, .statement: 1, .content: 2])
    }

    @Test func idempotencyKeysMakeRepostsDuplicates() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let first = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "bob",
                                                    events: [Self.pair("a"), Self.pair("b")])
        guard case .inserted(let a) = first.items[0], case .inserted(let b) = first.items[1] else {
            Issue.record("expected inserts")
            return
        }
        // Re-post with one new event, one repeated inside the batch, and a keyless one.
        let second = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "bob",
                                                     events: [Self.pair("b"), Self.pair("c"), Self.pair("c"), Self.pair(nil), Self.pair("a")])
        #expect(second.items[0] == .duplicate(b))
        guard case .inserted(let c) = second.items[1], case .inserted = second.items[3] else {
            Issue.record("expected inserts: \(second.items)")
            return
        }
        #expect(second.items[2] == .duplicate(c))
        #expect(second.items[4] == .duplicate(a))
        #expect(second.user.feedbackRevision == 2)
        // A batch of nothing but duplicates changes nothing.
        let third = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "bob", events: [Self.pair("a")],
                                                    refresh: { .summaryRefresh(for: $0) })
        #expect(third.items == [.duplicate(a)])
        #expect(third.user.feedbackRevision == 2)
        #expect(third.refreshJob == nil)
        #expect(try await store.feedback.counts(user: second.user.id)[.pair] == 4)
    }

    @Test func theSameKeyForAnotherUserOrTenantIsIndependent() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let other = try await TestDatabase.tenant(store)
        let one = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "u", events: [Self.pair("k")])
        let two = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "v", events: [Self.pair("k")])
        let three = try await store.feedback.ingest(tenant: other.id, externalUserID: "u", events: [Self.pair("k")])
        for result in [one, two, three] {
            guard case .inserted = result.items[0] else {
                Issue.record("expected an insert")
                return
            }
        }
        #expect(Set([one.user.id, two.user.id, three.user.id]).count == 3)
        #expect(try await store.users.find(tenant: other.id, externalID: "v") == nil)
    }

    @Test func anInvalidEventRejectsTheWholeBatch() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let bad = NewFeedbackEvent(idempotencyKey: "x", content: .statement(text: "ok"), metadata: JSONB(text: "[1, 2]"))
        await #expect(throws: StoreError.self) {
            try await store.feedback.ingest(tenant: tenant.id, externalUserID: "carol", events: [Self.pair("ok"), bad])
        }
        let nul = NewFeedbackEvent(content: .statement(text: "nul \u{0} inside"))
        await #expect(throws: StoreError.invalidValue("text contains a NUL character")) {
            try await store.feedback.ingest(tenant: tenant.id, externalUserID: "carol", events: [nul])
        }
        // Nothing from the failed batches is stored (the user row from the first attempt is rolled back too).
        #expect(try await store.users.find(tenant: tenant.id, externalID: "carol") == nil)
    }

    @Test func ingestQueuesOneDebouncedRefreshInTheSameTransaction() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let refresh: FeedbackRepository.RefreshJob = { .summaryRefresh(for: $0, delay: 30, maxDelay: 120) }
        let first = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "dan", events: [Self.pair("1")], refresh: refresh)
        let second = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "dan", events: [Self.pair("2")], refresh: refresh)
        let job = try #require(first.refreshJob)
        #expect(second.refreshJob?.id == job.id)
        #expect(job.state == .pending && job.kind == NewJob.summaryRefreshKind && job.userID == first.user.id)
        #expect(try #require(second.refreshJob).runAfter >= job.runAfter)
        let jobs = try await store.jobs.list(user: first.user.id)
        #expect(jobs.count == 1)
        let state = try #require(try await store.summaries.state(tenant: tenant.id, externalUserID: "dan"))
        #expect(state.status == .refreshing)
    }

    @Test func keysetPaginationWalksEveryEventOnceInBothDirections() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let events = (0..<25).map { Self.pair("e\($0)", $0) }
        let result = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "erin", events: events)
        var seen: [EventID] = []
        var cursor: EventID?
        var pages = 0
        repeat {
            let page = try await store.feedback.list(user: result.user.id, after: cursor, limit: 10)
            seen += page.events.map(\.id)
            cursor = page.nextCursor
            pages += 1
        } while cursor != nil
        #expect(pages == 3)
        #expect(seen.count == 25 && seen == seen.sorted())
        var backwards: [EventID] = []
        cursor = nil
        repeat {
            let page = try await store.feedback.list(user: result.user.id, after: cursor, limit: 7, order: .newestFirst)
            backwards += page.events.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(backwards == seen.reversed())
        let statements = try await store.feedback.list(user: result.user.id, kinds: [.statement])
        #expect(statements.events.isEmpty)
    }

    @Test func aThousandEventBatchIsOneStatement() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let events = (0..<1000).map { n in
            NewFeedbackEvent(idempotencyKey: "k\(n)", content: n % 2 == 0 ? .statement(text: "s\(n)") : .content(text: "c\(n)", prompt: nil),
                             metadata: JSONB(text: "{\"n\": \(n)}"), occurredAt: Date(timeIntervalSince1970: Double(n)))
        }
        let result = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "bulk", events: events)
        #expect(result.insertedCount == 1000)
        let page = try await store.feedback.list(user: result.user.id, limit: 1000)
        #expect(page.events.map(\.idempotencyKey) == events.map(\.idempotencyKey))
        #expect(page.events.last?.occurredAt == Date(timeIntervalSince1970: 999))
        #expect(page.nextCursor == nil)
    }

    @Test func aSnapshotHasTheNewestEventsAndTheirRevision() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "snap", events: (0..<5).map { Self.pair("a\($0)", $0) })
        let second = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "snap", events: (5..<8).map { Self.pair("a\($0)", $0) })
        let snapshot = try #require(try await store.feedback.snapshot(user: second.user.id, limit: 4))
        #expect(snapshot.user.feedbackRevision == 2)
        #expect(snapshot.events.map(\.idempotencyKey) == ["a4", "a5", "a6", "a7"])
        #expect(try await store.feedback.snapshot(user: UserID(rawValue: -5)) == nil)
    }

    /// What a summary uses (the newest pairs, statements and contents) is exactly what the query
    /// returns: with 1,000 pairs and a few of the other kinds, the rows the refresh picked from the
    /// newest 1,000 events before, and no others.
    @Test func newestSignalsReadOnlyTheRowsASummaryUses() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let old = (0..<3).map { NewFeedbackEvent(content: .statement(text: "old statement \($0)")) }
        let pairs = (0..<1000).map { n in
            NewFeedbackEvent(content: .pair(prompt: "q\(n)", chosen: n % 10 == 9 ? "same" : "yes \(n)", rejected: n % 10 == 9 ? "same" : "no"))
        }
        let recent = (0..<10).map { NewFeedbackEvent(content: .statement(text: "statement \($0)")) }
            + (0..<3).map { NewFeedbackEvent(content: .content(text: "content \($0)", prompt: $0 == 0 ? "why?" : nil)) }
        _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "many", events: old)
        let ingested = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "many", events: pairs + recent)
        let user = ingested.user

        // What the refresh chose before: per kind, the newest among the user's newest 1,000 events.
        let window = try #require(try await store.feedback.snapshot(user: user.id, limit: 1000)).events
        func newest(_ kind: FeedbackKind, _ count: Int, from events: [FeedbackEvent]) -> [EventID] {
            events.filter { $0.content.kind == kind }.suffix(count).map(\.id)
        }
        let chosen = try #require(try await store.feedback.newestSignals(user: user.id, pairs: 16, statements: 8, contents: 8))
        #expect(chosen.user.feedbackRevision == user.feedbackRevision)
        #expect(chosen.events.map(\.id) == (newest(.pair, 16, from: window) + newest(.statement, 8, from: window)
                                             + newest(.content, 8, from: window)).sorted(), "oldest first, the same rows")
        #expect(chosen.events.count == 16 + 8 + 3, "no row the summary does not use")

        // An edit scores the newest pairs whose responses differ.
        let distinct = try #require(try await store.feedback.newestSignals(user: user.id, pairs: 16, statements: 0, contents: 0,
                                                                           distinctPairs: true))
        let expected = window.filter {
            if case let .pair(_, chosen, rejected) = $0.content { return chosen != rejected } else { return false }
        }.suffix(16).map(\.id)
        #expect(distinct.events.map(\.id) == expected)
        #expect(try await store.feedback.newestSignals(user: UserID(rawValue: -5), pairs: 1, statements: 1, contents: 1) == nil)
    }

    @Test func deletingAnEventMarksTheSummaryStale() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let result = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "fay", events: [Self.pair("1"), Self.pair("2")])
        guard case .inserted(let id) = result.items[0] else { return }
        #expect(try await store.feedback.delete(user: result.user.id, id: id))
        #expect(try await !store.feedback.delete(user: result.user.id, id: id))
        #expect(try await store.feedback.get(user: result.user.id, id: id) == nil)
        #expect(try await store.users.find(id: result.user.id)?.feedbackRevision == 2)
        // Another user's id cannot delete it.
        let other = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "gus", events: [Self.pair("x")])
        guard case .inserted(let kept) = result.items[1] else { return }
        #expect(try await !store.feedback.delete(user: other.user.id, id: kept))
    }

    /// 8 writers post overlapping batches for the same user at once: every key is stored
    /// exactly once, and every item is reported as inserted by exactly one writer.
    @Test func concurrentOverlappingIngestersNeitherDuplicateNorLose() async throws {
        let store = try await TestDatabase.store()
        let tenant = try await TestDatabase.tenant(store)
        let keys = (0..<400).map { "k\($0)" }
        let results = try await withThrowingTaskGroup(of: [IngestStatus].self) { group in
            for writer in 0..<8 {
                group.addTask {
                    var statuses: [IngestStatus] = []
                    // Each writer covers a window of 150 keys starting at writer*35, in batches of 30,
                    // half of them reversed so lock orders differ.
                    var window = Array(keys[(writer * 35)..<(writer * 35 + 150)])
                    if writer % 2 == 1 { window.reverse() }
                    for start in stride(from: 0, to: window.count, by: 30) {
                        let batch = window[start..<min(start + 30, window.count)].map { Self.pair($0) }
                        let result = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "shared",
                                                                     events: batch, refresh: { .summaryRefresh(for: $0) })
                        statuses += result.items
                    }
                    return statuses
                }
            }
            return try await group.reduce(into: [IngestStatus]()) { $0 += $1 }
        }
        let posted = Set((0..<8).flatMap { keys[($0 * 35)..<($0 * 35 + 150)] })
        let inserted = results.compactMap { if case .inserted(let id) = $0 { return id } else { return nil } }
        let duplicates = results.compactMap { if case .duplicate(let id) = $0 { return id } else { return nil } }
        #expect(inserted.count == posted.count)
        #expect(Set(inserted).count == inserted.count)
        #expect(Set(duplicates).isSubset(of: Set(inserted)))
        #expect(inserted.count + duplicates.count == 8 * 150)

        let user = try #require(try await store.users.find(tenant: tenant.id, externalID: "shared"))
        let rows = try await store.pool.query("""
            SELECT idempotency_key FROM feedback_events WHERE user_id = \(user.id)
            """).map { try $0.decode(0, as: String.self) }
        #expect(rows.count == posted.count)
        #expect(Set(rows) == posted)
        // Many batches, one pending refresh.
        let pending = try await store.jobs.list(user: user.id).filter { $0.state == .pending }
        #expect(pending.count == 1)
    }
}
