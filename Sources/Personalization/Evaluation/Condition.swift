/// What the generator is conditioned on in an evaluation.
public enum Condition: String, CaseIterable, Codable, Sendable {
    /// The bare prompt: no information about the user (h = 0 by construction).
    case none = "no_summary"
    /// The user's raw signals in context.
    case rawSignals = "raw_signals"
    /// One sampled summary (candidate 0, N = 1).
    case zeroShot = "zero_shot"
    /// The summary chosen by POPI's reward among N candidates.
    case bestOfN = "best_of_n"
    /// The dataset's persona text used as the summary.
    case oracle = "oracle_persona"

    public var label: String {
        switch self {
        case .none: return "No summary"
        case .rawSignals: return "Raw signals in context"
        case .zeroShot: return "Zero-shot summary (N = 1)"
        case .bestOfN: return "Best-of-N summary"
        case .oracle: return "Oracle persona"
        }
    }
}
