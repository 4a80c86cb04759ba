import Foundation

/// One user a summarizer is trained on: the signals its summary is inferred from, and the
/// held-out pairs the summary is rewarded on (never shown to the summarizer).
public struct TrainingUser: Sendable, Equatable {
    public var id: String
    public var signals: UserSignals
    public var heldOut: [PreferencePair]
    /// A description of the user's preferences written by whoever built the dataset, if any:
    /// one more candidate for best-of-N distillation, which r(s) accepts or rejects like a sample.
    public var persona: String?
    /// The notes the user's pairs show, where the dataset says which (`NoteTargets`): the
    /// targets of `SummarizerMethod.notes`.
    public var notes: [NoteTargets.Note]

    /// Fewest context pairs a user needs: with one, any summary is a paraphrase of one example.
    public static let minimumContextPairs = 2

    public init(id: String, signals: UserSignals, heldOut: [PreferencePair], persona: String? = nil,
                notes: [NoteTargets.Note] = []) {
        self.id = id
        self.signals = signals
        self.heldOut = heldOut
        self.persona = persona
        self.notes = notes
    }

    /// A dataset user: its `signals` and statements as context, its `held_out` pairs as reward,
    /// its `persona` if it has one, and the notes its pairs show by `targets`.
    public init(_ user: PersonaDataset.User, targets: NoteTargets) {
        let persona = user.persona.trimmingCharacters(in: .whitespacesAndNewlines)
        self.init(id: user.id, signals: user.contextSignals, heldOut: user.heldOut, persona: persona.isEmpty ? nil : persona,
                  notes: targets.notes(for: user))
    }

    /// A dataset's users, with the notes the whole dataset shows.
    public static func all(_ dataset: PersonaDataset) -> [TrainingUser] {
        let targets = NoteTargets(dataset.users)
        return dataset.users.map { TrainingUser($0, targets: targets) }
    }

    /// Users that can be trained on, or an error naming the first that cannot.
    public static func validated(_ users: [TrainingUser]) throws(PersonalizationError) -> [TrainingUser] {
        guard !users.isEmpty else { throw .invalidOption("no users to train on") }
        for user in users {
            let (clean, _) = user.signals.cleaned()
            guard clean.pairs.count >= minimumContextPairs else {
                throw .invalidOption("user \(user.id) has \(clean.pairs.count) usable context pairs; training needs at least \(minimumContextPairs)")
            }
            guard !user.heldOut.isEmpty else {
                throw .invalidOption("user \(user.id) has no held-out pairs to reward a summary on")
            }
        }
        return users
    }
}
