/// Why POPI could not produce a result. Descriptions are safe to show a user.
public enum PersonalizationError: Error, Equatable, CustomStringConvertible {
    case noSignals
    case promptTooLong
    case invalidOption(String)
    case noCandidates

    public var description: String {
        switch self {
        case .noSignals:
            return "the user has no usable feedback (pairs need a prompt and two different, non-empty responses; statements and content need text)"
        case .promptTooLong:
            return "the prompt does not fit in the model's context even without examples"
        case .invalidOption(let detail):
            return "invalid option: \(detail)"
        case .noCandidates:
            return "the model produced no non-empty summary candidate"
        }
    }
}
