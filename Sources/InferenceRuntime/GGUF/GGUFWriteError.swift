/// Why a GGUF file was not written. Descriptions name the key, tensor or path at fault.
public enum GGUFWriteError: Error, Equatable, CustomStringConvertible {
    case invalidAlignment(Int)
    /// `general.alignment` is set through the writer's `alignment`, never as metadata.
    case reservedKey(String)
    case duplicateKey(String)
    case duplicateTensor(String)
    case invalidTensorShape(tensor: String, dimensions: [Int], type: GGMLType)
    case tensorSizeMismatch(tensor: String, expected: Int, found: Int)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidAlignment(let alignment):
            return "GGUF alignment \(alignment) must be a power of two between 1 and 2^30"
        case .reservedKey(let key):
            return "metadata key \(clip(key)) is written from the writer's alignment; do not set it as metadata"
        case .duplicateKey(let key):
            return "metadata key \(clip(key)) given more than once"
        case .duplicateTensor(let name):
            return "tensor \(clip(name)) given more than once"
        case let .invalidTensorShape(tensor, dimensions, type):
            return "tensor \(clip(tensor)): shape \(dimensions) is not valid for \(type) "
                + "(1 to 4 dimensions, each at least 1, the first a multiple of \(type.blockSize))"
        case let .tensorSizeMismatch(tensor, expected, found):
            return "tensor \(clip(tensor)): \(found) bytes of data, its shape and type need \(expected)"
        case let .cannotWrite(path, reason):
            return "cannot write \(path): \(reason)"
        }
    }
}
