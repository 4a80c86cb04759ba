import Foundation
import Testing
@testable import Store

@Suite struct SummaryRepositoryTests {
    static let adapterSHA256 = String(repeating: "ab", count: 32)

    static func inferred(_ text: String, pinned: Bool = false, adapterSHA256: String? = nil) -> NewSummaryVersion {
        NewSummaryVersion(text: text, sourceEventIDs: [EventID(rawValue: 1), EventID(rawValue: 2)], modelID: "smollm2-135m",
                          promptVersion: "v1", adapterSHA256: adapterSHA256,
                          scores: SummaryScores(reward: -0.5, accuracy: 0.75, heldOutCount: 4, candidateCount: 8,
                                                summaryTokens: 40, rawSignalTokens: 400),
                          pinned: pinned)
    }

    func user(_ store: DataStore, _ name: String = "u") async throws -> (Tenant, User) {
        let tenant = try await TestDatabase.tenant(store)
        let result = try await store.feedback.ingest(
            tenant: tenant.id, externalUserID: name,
            events: [NewFeedbackEvent(content: .statement(text: "I like short answers"))])
        return (tenant, result.user)
    }

    @Test func versionsAreNumberedAndKeptWithTheirScores() async throws {
        let store = try await TestDatabase.store()
        let (_, user) = try await user(store)
        let one = try await store.summaries.add(user: user.id, Self.inferred("first"))
        let two = try await store.summaries.add(user: user.id, Self.inferred("second"))
        #expect(one.version == 1 && two.version == 2)
        #expect(two.scores == Self.inferred("").scores)
        #expect(two.sourceEventIDs == [EventID(rawValue: 1), EventID(rawValue: 2)])
        #expect(two.feedbackRevision == user.feedbackRevision)
        #expect(two.origin == .inferred && !two.pinned && two.restoredFrom == nil)
        #expect(try await store.summaries.current(user: user.id) == two)
        #expect(try await store.summaries.get(user: user.id, version: 1) == one)
        #expect(try await store.summaries.get(user: user.id, version: 3) == nil)
        #expect(try await store.summaries.list(user: user.id).map(\.version) == [2, 1])
        #expect(try await store.summaries.list(user: user.id, before: 2).map(\.version) == [1])
        let scored = try await store.summaries.updateScores(user: user.id, version: 1,
                                                            SummaryScores(reward: 0.1, accuracy: 1, heldOutCount: 2))
        #expect(scored?.scores.reward == 0.1 && scored?.scores.summaryTokens == nil)
    }

    @Test func concurrentAddsGetDistinctVersions() async throws {
        let store = try await TestDatabase.store()
        let (_, user) = try await user(store)
        let versions = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<10 {
                group.addTask { try await store.summaries.add(user: user.id, Self.inferred("v\(n)")).version }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(versions.sorted() == Array(1...10))
    }

    @Test func aPinnedVersionStaysCurrentUntilUnpinned() async throws {
        let store = try await TestDatabase.store()
        let (_, user) = try await user(store)
        _ = try await store.summaries.add(user: user.id, Self.inferred("inferred"))
        var edited = Self.inferred("edited by hand", pinned: true)
        edited.origin = .edited
        let pinned = try await store.summaries.add(user: user.id, edited)
        _ = try await store.summaries.add(user: user.id, Self.inferred("newer inferred"))
        #expect(try await store.summaries.current(user: user.id)?.version == pinned.version)
        // Pinning another version moves the pin; only one is ever pinned.
        _ = try await store.summaries.setPinned(user: user.id, version: 1, pinned: true)
        let pinnedCount = try await store.pool.query("""
            SELECT count(*) FROM summary_versions WHERE user_id = \(user.id) AND pinned
            """)[0].decode(0, as: Int.self)
        #expect(pinnedCount == 1)
        #expect(try await store.summaries.current(user: user.id)?.version == 1)
        #expect(try await store.summaries.unpin(user: user.id))
        #expect(try await store.summaries.current(user: user.id)?.version == 3)
        #expect(try await store.summaries.setPinned(user: user.id, version: 99, pinned: true) == nil)
    }

    @Test func restoringCopiesAnOldVersionAsANewOne() async throws {
        let store = try await TestDatabase.store()
        let (_, user) = try await user(store)
        let one = try await store.summaries.add(user: user.id, Self.inferred("the good one", adapterSHA256: Self.adapterSHA256))
        let worse = try await store.summaries.add(user: user.id, Self.inferred("a worse one"))
        #expect(one.adapterSHA256 == Self.adapterSHA256 && worse.adapterSHA256 == nil)
        let restored = try #require(try await store.summaries.restore(user: user.id, version: 1, pinned: true))
        #expect(restored.version == 3 && restored.origin == .restored && restored.restoredFrom == 1 && restored.pinned)
        #expect(restored.text == one.text && restored.scores == one.scores && restored.adapterSHA256 == one.adapterSHA256)
        #expect(try await store.summaries.current(user: user.id)?.version == 3)
        #expect(try await store.summaries.restore(user: user.id, version: 42, pinned: false) == nil)
    }

    @Test func stateTracksNoneFreshStaleAndRefreshing() async throws {
        let store = try await TestDatabase.store()
        let (tenant, user) = try await user(store, "sam")
        #expect(try await store.summaries.state(tenant: tenant.id, externalUserID: "nobody") == nil)
        #expect(try await store.summaries.state(tenant: tenant.id, externalUserID: "sam")?.status == SummaryState.Status.none)
        _ = try await store.summaries.add(user: user.id, Self.inferred("s"))
        #expect(try await store.summaries.state(tenant: tenant.id, externalUserID: "sam")?.status == .fresh)
        _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "sam",
                                            events: [NewFeedbackEvent(content: .statement(text: "more"))])
        #expect(try await store.summaries.state(tenant: tenant.id, externalUserID: "sam")?.status == .stale)
        let job = try await store.jobs.enqueue(.summaryRefresh(for: user.id, delay: 3600)).job
        let state = try #require(try await store.summaries.state(tenant: tenant.id, externalUserID: "sam"))
        #expect(state.status == .refreshing && state.refreshJob?.id == job.id)
        #expect(state.current?.text == "s")
    }

    @Test func anAdapterHashMustBeSixtyFourLowerCaseHexDigits() async throws {
        let store = try await TestDatabase.store()
        let (_, user) = try await user(store)
        for bad in ["AB" + String(repeating: "ab", count: 31), "abc", ""] {
            await #expect(throws: StoreError.self) {
                try await store.summaries.add(user: user.id, Self.inferred("x", adapterSHA256: bad))
            }
        }
    }

    @Test func aSummaryForAnErasedUserIsRefused() async throws {
        let store = try await TestDatabase.store()
        let (tenant, user) = try await user(store, "gone")
        _ = try await store.userData.erase(tenant: tenant.id, externalUserID: "gone")
        await #expect(throws: StoreError.notFound("the user no longer exists")) {
            try await store.summaries.add(user: user.id, Self.inferred("too late"))
        }
    }
}
