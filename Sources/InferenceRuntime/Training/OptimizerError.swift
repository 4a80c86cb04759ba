/// An optimizer that cannot be made, stepped, saved or restored. Descriptions are safe to show
/// to a user.
public enum OptimizerError: Error, Equatable, CustomStringConvertible {
    case invalidSetting(name: String, reason: String)
    /// The adapter or gradients are not in the optimizer's layout.
    case layoutMismatch
    /// The state file's layout is not the one it is restored for.
    case stateLayoutMismatch(path: String)
    case truncatedState(path: String)
    case notAStateFile(path: String)
    case unsupportedStateVersion(path: String, version: UInt32)
    case stateChecksumMismatch(path: String)
    case invalidState(path: String, reason: String)
    case io(operation: String, path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidSetting(let name, let reason):
            return "invalid optimizer setting \(name): \(reason)"
        case .layoutMismatch:
            return "the adapter or its gradients do not have the optimizer's layout"
        case .stateLayoutMismatch(let path):
            return "the optimizer state \(path) was saved for another adapter layout"
        case .truncatedState(let path):
            return "the optimizer state \(path) is truncated"
        case .notAStateFile(let path):
            return "\(path) is not a popi optimizer state file"
        case .unsupportedStateVersion(let path, let version):
            return "the optimizer state \(path) has version \(version), which this popi does not read"
        case .stateChecksumMismatch(let path):
            return "the optimizer state \(path) is corrupt (checksum mismatch)"
        case .invalidState(let path, let reason):
            return "the optimizer state \(path) is invalid: \(reason)"
        case .io(let operation, let path, let reason):
            return "cannot \(operation) \(path): \(reason)"
        }
    }
}
