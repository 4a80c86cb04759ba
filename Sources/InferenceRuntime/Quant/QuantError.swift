/// A tensor type or shape the runtime cannot compute with.
public enum QuantError: Error, Equatable, CustomStringConvertible {
    case unsupportedType(GGMLType)
    case rowLengthNotMultipleOfBlock(type: GGMLType, length: Int)

    public var description: String {
        switch self {
        case .unsupportedType(let type):
            return "tensor type \(type) is not supported"
        case .rowLengthNotMultipleOfBlock(let type, let length):
            return "row length \(length) is not a multiple of the \(type) block size \(type.blockSize)"
        }
    }
}
