import Foundation
import Personalization
import Store
import Testing
@testable import App

@Suite struct TenantTrainingSetTests {
    @Test func aTenantsUsersAreSplitAsTheRefreshWorkerSplitsThemAndRoundTripAsDatasetLines() async throws {
        let store = try await AppTestEnvironment.store()
        let tenant = try await store.tenants.create(name: "train-\(UUID().uuidString.prefix(8))")
        func pair(_ i: Int) -> NewFeedbackEvent {
            NewFeedbackEvent(content: .pair(prompt: "question \(i)", chosen: "short \(i)", rejected: "a long answer \(i)"))
        }
        // Five pairs: the 1st is held out, four are context; a statement and a text come along.
        _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "rich", events: (0..<5).map(pair) + [
            NewFeedbackEvent(content: .statement(text: "I like it brief.")),
            NewFeedbackEvent(content: .content(text: "my own words", prompt: "say something")),
        ])
        // Two pairs cannot give two context pairs and a held-out one: left out.
        _ = try await store.feedback.ingest(tenant: tenant.id, externalUserID: "poor", events: (0..<2).map(pair))

        let users = try await TenantTrainingSet.load(store: store, tenant: tenant.name, maxPairs: 8)
        #expect(users.map(\.id) == ["rich"])
        let user = try #require(users.first)
        #expect(user.heldOut.map(\.prompt) == ["question 0"])
        #expect(user.signals.map(\.prompt) == ["question 1", "question 2", "question 3", "question 4"])
        #expect(user.statements == ["I like it brief."])
        #expect(user.contents == [UserSignals.Content(text: "my own words", prompt: "say something")])

        let parsed = try PersonaDataset.parse(try TenantTrainingSet.datasetLines(users))
        #expect(parsed.users == users)

        await #expect(throws: TrainingSetError.self) {
            try await TenantTrainingSet.load(store: store, tenant: "no-such-tenant-\(UUID().uuidString)", maxPairs: 8)
        }
    }
}
