/// Why POPI could not produce a result. Descriptions are safe to show a user.
public enum PersonalizationError: Error, Equatable, CustomStringConvertible {
    case noSignals
    case promptTooLong
    case invalidOption(String)
    /// An adapter's `summary_form` label names a form this build does not know (at most 40 characters of it).
    case unknownSummaryForm(String)
    case noCandidates

    public var description: String {
        switch self {
        case .noSignals:
            return "the user has no usable feedback (pairs need a prompt and two different, non-empty responses; statements and content need text)"
        case .promptTooLong:
            return "the prompt does not fit in the model's context even without examples"
        case .invalidOption(let detail):
            return "invalid option: \(detail)"
        case .unknownSummaryForm(let form):
            return "the adapter was trained for summary form \"\(form)\", which this popi does not know (known: "
                + SummaryForm.allCases.map(\.rawValue).joined(separator: ", ") + ")"
        case .noCandidates:
            return "the model produced no non-empty summary candidate"
        }
    }
}
