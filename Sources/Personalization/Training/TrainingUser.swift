/// One user a summarizer is trained on: the signals its summary is inferred from, and the
/// held-out pairs the summary is rewarded on (never shown to the summarizer).
public struct TrainingUser: Sendable, Equatable {
    public var id: String
    public var signals: UserSignals
    public var heldOut: [PreferencePair]

    /// Fewest context pairs a user needs: with one, any summary is a paraphrase of one example.
    public static let minimumContextPairs = 2

    public init(id: String, signals: UserSignals, heldOut: [PreferencePair]) {
        self.id = id
        self.signals = signals
        self.heldOut = heldOut
    }

    /// A dataset user: its `signals` and statements as context, its `held_out` pairs as reward.
    public init(_ user: PersonaDataset.User) {
        self.init(id: user.id, signals: user.contextSignals, heldOut: user.heldOut)
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
