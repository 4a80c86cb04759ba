/// Why a GGUF file was rejected. Descriptions name the key or tensor and the numbers involved;
/// they hold no file content beyond names, so they are safe to show.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case notRegularFile(path: String)
    case truncated(what: String, offset: Int, needed: Int, fileSize: Int)
    case badMagic(found: UInt32)
    case unsupportedVersion(UInt32)
    case countTooLarge(what: String, count: UInt64, limit: Int)
    case unknownValueType(key: String, raw: UInt32)
    case arrayNestingTooDeep(key: String, limit: Int)
    case duplicateKey(String)
    case invalidAlignment(value: String)
    case duplicateTensor(String)
    case invalidTensorDimensionCount(tensor: String, count: UInt32)
    case invalidTensorDimension(tensor: String, index: Int, value: UInt64)
    case unknownTensorType(tensor: String, raw: UInt32)
    case rowNotMultipleOfBlock(tensor: String, type: GGMLType, rowLength: Int, blockSize: Int)
    case tensorTooLarge(tensor: String)
    case misalignedTensor(tensor: String, offset: UInt64, alignment: Int)
    case tensorOutOfBounds(tensor: String, offset: UInt64, byteCount: Int, dataSectionSize: Int, fileSize: Int)
    case missingKey(String)
    case typeMismatch(key: String, expected: String, found: GGUFValueType)
    case valueOutOfRange(key: String, value: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "cannot open model file \(path): \(reason)"
        case let .notRegularFile(path):
            return "model path \(path) is not a regular file"
        case let .truncated(what, offset, needed, fileSize):
            return "truncated GGUF file: \(clip(what)) at offset \(offset) needs \(needed) bytes, file size is \(fileSize)"
        case let .badMagic(found):
            return "not a GGUF file: magic is 0x\(String(found, radix: 16)), expected 0x46554747 (\"GGUF\")"
        case let .unsupportedVersion(version):
            let hint = version > 0xFFFF ? " (big-endian file?)" : ""
            return "unsupported GGUF version \(version)\(hint); supported versions are 2 and 3"
        case let .countTooLarge(what, count, limit):
            return "\(clip(what)) is \(count), more than the file can hold (at most \(limit))"
        case let .unknownValueType(key, raw):
            return "metadata key \(clip(key)): unknown value type \(raw)"
        case let .arrayNestingTooDeep(key, limit):
            return "metadata key \(clip(key)): arrays nested deeper than \(limit) levels"
        case let .duplicateKey(key):
            return "metadata key \(clip(key)) appears more than once"
        case let .invalidAlignment(value):
            return "general.alignment is \(value); it must be a power of two between 1 and 2^30"
        case let .duplicateTensor(name):
            return "tensor \(clip(name)) appears more than once"
        case let .invalidTensorDimensionCount(tensor, count):
            return "tensor \(clip(tensor)): \(count) dimensions; 1 to 4 are supported"
        case let .invalidTensorDimension(tensor, index, value):
            return "tensor \(clip(tensor)): dimension \(index) is \(value); it must be between 1 and 2^40"
        case let .unknownTensorType(tensor, raw):
            return "tensor \(clip(tensor)): unsupported ggml type \(raw)"
        case let .rowNotMultipleOfBlock(tensor, type, rowLength, blockSize):
            return "tensor \(clip(tensor)): row length \(rowLength) is not a multiple of the \(type) block size \(blockSize)"
        case let .tensorTooLarge(tensor):
            return "tensor \(clip(tensor)): element count overflows"
        case let .misalignedTensor(tensor, offset, alignment):
            return "tensor \(clip(tensor)): offset \(offset) is not a multiple of the alignment \(alignment)"
        case let .tensorOutOfBounds(tensor, offset, byteCount, dataSectionSize, fileSize):
            return "tensor \(clip(tensor)): offset \(offset) + \(byteCount) bytes exceeds the data section size \(dataSectionSize) (file size \(fileSize))"
        case let .missingKey(key):
            return "metadata key \(clip(key)) is missing"
        case let .typeMismatch(key, expected, found):
            return "metadata key \(clip(key)) is a \(found), expected \(expected)"
        case let .valueOutOfRange(key, value):
            return "metadata key \(clip(key)) has an out-of-range value \(value)"
        }
    }
}

/// Names come from the file: shorten them and hide control characters before showing them.
func clip(_ name: String) -> String {
    let limit = 120
    var out = String.UnicodeScalarView()
    for (index, scalar) in name.unicodeScalars.enumerated() {
        if index == limit { return String(out) + "…" }
        out.append(scalar.properties.generalCategory == .control ? "?" : scalar)
    }
    return String(out)
}
