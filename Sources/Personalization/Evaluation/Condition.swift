/// What the generator is conditioned on in an evaluation.
public enum Condition: String, CaseIterable, Codable, Sendable {
    /// The bare prompt: no information about the user (h = 0 by construction).
    case none = "no_summary"
    /// The user's raw signals in context.
    case rawSignals = "raw_signals"
    /// One sampled summary (N = 1, every context pair read, nothing scored).
    case zeroShot = "zero_shot"
    /// The summary chosen by POPI's reward among N candidates.
    case bestOfN = "best_of_n"
    /// One summary from the trained summarizer adapter (N = 1).
    case trainedZeroShot = "trained_zero_shot"
    /// The best of N candidates of the trained summarizer adapter.
    case trainedBestOfN = "trained_best_of_n"
    /// The trained zero-shot summary, answered by the trained generator adapter.
    case trainedGenerator = "trained_summarizer_and_generator"
    /// Control: another user's zero-shot summary (trained, when there is an adapter). A summary
    /// that helps only because it is a summary, not because it is this user's, scores as well.
    case mismatched = "mismatched_summary"
    /// The dataset's persona text used as the summary.
    case oracle = "oracle_persona"

    public var label: String {
        switch self {
        case .none: return "No summary"
        case .rawSignals: return "Raw signals in context"
        case .zeroShot: return "Zero-shot summary (N = 1)"
        case .bestOfN: return "Best-of-N summary"
        case .trainedZeroShot: return "Trained, zero-shot (N = 1)"
        case .trainedBestOfN: return "Trained, best-of-N"
        case .trainedGenerator: return "Trained summarizer + generator"
        case .mismatched: return "Another user's summary"
        case .oracle: return "Oracle persona"
        }
    }
}
