/// Why a model file's metadata does not describe a model popi can run.
public enum ModelConfigError: Error, Equatable, CustomStringConvertible {
    case unsupportedArchitecture(String, supported: [String])
    case missingKey(String)
    case invalidValue(key: String, value: String, reason: String)
    case missingTensor(String)
    case tensorShapeMismatch(tensor: String, expected: [Int], found: [Int])
    case invalidTensorValue(tensor: String, index: Int, value: String, reason: String)

    public var description: String {
        switch self {
        case let .unsupportedArchitecture(architecture, supported):
            return "unsupported model architecture \(clip(architecture)); supported: \(supported.joined(separator: ", "))"
        case let .missingKey(key):
            return "metadata key \(key) is missing"
        case let .invalidValue(key, value, reason):
            return "metadata key \(key) is \(value): \(reason)"
        case let .missingTensor(name):
            return "tensor \(name) is missing"
        case let .tensorShapeMismatch(tensor, expected, found):
            return "tensor \(tensor) has shape \(found), expected \(expected)"
        case let .invalidTensorValue(tensor, index, value, reason):
            return "tensor \(tensor) element \(index) is \(value): \(reason)"
        }
    }
}
