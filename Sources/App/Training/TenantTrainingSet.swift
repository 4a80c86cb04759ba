import Foundation
import Personalization
import Store

/// A tenant's users as training data, read from PostgreSQL as the refresh worker reads them
/// (their newest pairs, statements and texts) and split by the same rule (`HeldOutSplit`: every
/// fourth pair held out, the reward's pairs). Users who cannot give two context pairs and one
/// held-out pair are left out.
///
/// A run trains on a snapshot: feedback arriving during hours of training must not change the
/// data under a resumable run, so the users are written once as dataset lines beside the output.
enum TenantTrainingSet {
    static func load(store: DataStore, tenant name: String, maxPairs: Int) async throws -> [PersonaDataset.User] {
        guard let tenant = try await store.tenants.find(name: name) else {
            throw TrainingSetError("no tenant named \"\(name)\"")
        }
        var users: [PersonaDataset.User] = []
        var after: UserID?
        while true {
            let page = try await store.users.list(tenant: tenant.id, after: after, limit: 100)
            guard let last = page.last else { break }
            after = last.id
            for user in page {
                guard let snapshot = try await store.feedback.snapshot(user: user.id) else { continue }
                let (signals, _) = RefreshWorkers.signals(from: snapshot.events, limit: maxPairs)
                let clean = signals.cleaned().signals
                let split = HeldOutSplit(pairs: clean.pairs)
                guard split.heldOut.count >= 1, split.context.count >= TrainingUser.minimumContextPairs else { continue }
                users.append(PersonaDataset.User(id: user.externalID, persona: "", traits: [], signals: split.context,
                                                 heldOut: split.heldOut, statements: clean.statements, contents: clean.contents))
            }
        }
        guard !users.isEmpty else {
            throw TrainingSetError("tenant \"\(name)\" has no user with enough pairs to train on (\(TrainingUser.minimumContextPairs + 1) usable pairs or more)")
        }
        return users
    }

    /// The users as dataset lines (`PersonaDataset`'s format), which `popi train` reads back.
    static func datasetLines(_ users: [PersonaDataset.User]) throws -> Data {
        func pairs(_ list: [PreferencePair]) -> [[String: String]] {
            list.map { ["prompt": $0.prompt, "chosen": $0.chosen, "rejected": $0.rejected] }
        }
        var data = Data()
        for user in users {
            var object: [String: Any] = ["user_id": user.id, "signals": pairs(user.signals), "held_out": pairs(user.heldOut)]
            if !user.statements.isEmpty { object["statements"] = user.statements }
            if !user.contents.isEmpty {
                object["contents"] = user.contents.map { content -> [String: String] in
                    var entry = ["text": content.text]
                    if let prompt = content.prompt { entry["prompt"] = prompt }
                    return entry
                }
            }
            data.append(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            data.append(UInt8(ascii: "\n"))
        }
        return data
    }
}

struct TrainingSetError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
