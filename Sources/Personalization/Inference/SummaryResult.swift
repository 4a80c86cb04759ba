/// A preference summary chosen by POPI's objective, with everything needed to judge it.
public struct SummaryResult: Sendable {
    public struct Candidate: Sendable, Equatable {
        public var text: String
        /// Mean r(s) over the held-out pairs (nil when nothing was held out).
        public var reward: Double?
        public var accuracy: Double?
    }

    public struct Timings: Sendable, Equatable {
        public var promptSeconds: Double
        public var samplingSeconds: Double
        public var scoringSeconds: Double
        public var totalSeconds: Double
    }

    public var text: String
    public var reward: Double?
    public var accuracy: Double?
    /// Index of the chosen candidate (0 is the zero-shot sample for the seed).
    public var chosenIndex: Int
    public var candidates: [Candidate]
    public var heldOutCount: Int
    public var contextPairCount: Int
    public var summaryTokens: Int
    /// Tokens of the same signals serialized for in-context use: what the summary stands in for.
    public var rawSignalTokens: Int
    public var modelID: String
    public var promptVersion: String
    public var seed: UInt64
    public var timings: Timings
    /// Set when the result could not be optimized (e.g. fewer than two pairs), saying why.
    public var note: String?
    public var skipped: [SkippedSignal]

    public var candidatesTried: Int { candidates.count }
}
