/// How the adapter's zero-shot summary (one sample, as the service writes it with N = 1) does
/// on the users a run set aside: POPI's reward and accuracy on their held-out pairs. The same
/// users, pairs and sampling seeds every time, so scores of one run compare across steps.
public struct ValidationScore: Codable, Sendable, Equatable {
    public var users: Int
    public var meanReward: Double
    /// Share of held-out pairs with h > 0.
    public var accuracy: Double
    public var meanSummaryTokens: Double
    public var seconds: Double
    /// With note training: how often the adapter reads a pair right, on the set-aside users'
    /// labelled pairs whose dimension has two known notes, each pair shown both ways round. Read
    /// right means its note is more likely than the other note after that pair's note prompt.
    /// A model that does not read which response was preferred scores exactly 0.5.
    public var noteReading: NoteReading?

    /// See `ValidationScore.noteReading`.
    public struct NoteReading: Codable, Sendable, Equatable {
        /// Pairs shown (each pair counts twice: as it is and swapped).
        public var pairs: Int
        /// Share of them read right.
        public var accuracy: Double
    }

    public init(users: Int, meanReward: Double, accuracy: Double, meanSummaryTokens: Double, seconds: Double,
                noteReading: NoteReading? = nil) {
        self.users = users
        self.meanReward = meanReward
        self.accuracy = accuracy
        self.meanSummaryTokens = meanSummaryTokens
        self.seconds = seconds
        self.noteReading = noteReading
    }

    enum CodingKeys: String, CodingKey {
        case users, accuracy, seconds
        case meanReward = "mean_reward"
        case meanSummaryTokens = "mean_summary_tokens"
        case noteReading = "note_reading"
    }
}
