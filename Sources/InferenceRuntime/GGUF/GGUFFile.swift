/// A GGUF model file (versions 2 and 3), validated once when opened.
///
/// The file is memory-mapped read-only and never copied: `tensors` are views into the mapping,
/// valid as long as this object lives. Opening checks the header, every metadata entry, every
/// tensor's type, shape, alignment and extent against the file size, so later code can trust
/// the views without re-checking bounds.
public final class GGUFFile: @unchecked Sendable {
    /// Little-endian "GGUF".
    public static let magic: UInt32 = 0x4655_4747
    public static let defaultAlignment = 32
    /// Deeper nesting is refused so a crafted file cannot exhaust the stack.
    public static let maximumArrayNesting = 8

    public let version: UInt32
    public let fileSize: Int
    /// Alignment of tensor data (`general.alignment`, default 32).
    public let alignment: Int
    /// Offset of the tensor data section from the start of the file.
    public let dataOffset: Int
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [String: TensorView]
    /// Tensor names in file order.
    public let tensorNames: [String]

    let mapping: GGUFMapping

    /// Maps and validates the file at `path`.
    public static func open(path: String) throws -> GGUFFile {
        try GGUFFile(mapping: GGUFMapping.map(path: path))
    }

    /// Validates a GGUF image held in memory (a copy is kept).
    public convenience init(bytes: [UInt8]) throws {
        try self.init(mapping: GGUFMapping(bytes: bytes))
    }

    private init(mapping: GGUFMapping) throws {
        self.mapping = mapping
        var reader = GGUFByteReader(base: mapping.base, size: mapping.size)
        fileSize = mapping.size

        let magic = try reader.read(UInt32.self, "magic")
        guard magic == Self.magic else { throw GGUFError.badMagic(found: magic) }
        version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        // Smallest tensor info: name length, dimension count, one dimension, type, offset.
        let tensorCount = try reader.readCount("tensor count", minimumItemSize: 8 + 4 + 8 + 4 + 8)
        // Smallest metadata entry: key length, value type, one byte of value.
        let metadataCount = try reader.readCount("metadata entry count", minimumItemSize: 8 + 4 + 1)

        var metadata: [String: GGUFValue] = [:]
        metadata.reserveCapacity(metadataCount)
        var keys: [String] = []
        keys.reserveCapacity(metadataCount)
        for index in 0..<metadataCount {
            let key = try reader.readString("key of metadata entry \(index)")
            let rawType = try reader.read(UInt32.self, "value type of \(key)")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError.unknownValueType(key: key, raw: rawType)
            }
            let value = try Self.readValue(type, key: key, reader: &reader)
            guard metadata.updateValue(value, forKey: key) == nil else { throw GGUFError.duplicateKey(key) }
            keys.append(key)
        }

        var alignment = Self.defaultAlignment
        if let value = metadata["general.alignment"] {
            guard let a = value.integer, a > 0, a <= 1 << 30, a & (a - 1) == 0 else {
                throw GGUFError.invalidAlignment(value: Self.describe(value))
            }
            alignment = a
        }
        self.alignment = alignment

        struct Info { let name: String; let type: GGMLType; let dimensions: [Int]; let offset: UInt64; let byteCount: Int }
        var infos: [Info] = []
        infos.reserveCapacity(tensorCount)
        var seen = Set<String>()
        for index in 0..<tensorCount {
            let name = try reader.readString("name of tensor \(index)")
            guard seen.insert(name).inserted else { throw GGUFError.duplicateTensor(name) }
            let dimensionCount = try reader.read(UInt32.self, "dimension count of tensor \(name)")
            guard (1...4).contains(dimensionCount) else {
                throw GGUFError.invalidTensorDimensionCount(tensor: name, count: dimensionCount)
            }
            var dimensions: [Int] = []
            var elements = 1
            for d in 0..<Int(dimensionCount) {
                let raw = try reader.read(UInt64.self, "dimension \(d) of tensor \(name)")
                guard raw >= 1, raw <= 1 << 40 else {
                    throw GGUFError.invalidTensorDimension(tensor: name, index: d, value: raw)
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(raw))
                guard !overflow, product <= 1 << 50 else { throw GGUFError.tensorTooLarge(tensor: name) }
                elements = product
                dimensions.append(Int(raw))
            }
            let rawType = try reader.read(UInt32.self, "type of tensor \(name)")
            guard let type = GGMLType(rawValue: rawType) else {
                throw GGUFError.unknownTensorType(tensor: name, raw: rawType)
            }
            guard dimensions[0] % type.blockSize == 0 else {
                throw GGUFError.rowNotMultipleOfBlock(tensor: name, type: type, rowLength: dimensions[0], blockSize: type.blockSize)
            }
            let offset = try reader.read(UInt64.self, "data offset of tensor \(name)")
            guard offset % UInt64(alignment) == 0 else {
                throw GGUFError.misalignedTensor(tensor: name, offset: offset, alignment: alignment)
            }
            // elements ≤ 2^50 and bytesPerBlock ≤ 292 keep this product far from overflow.
            let byteCount = elements / type.blockSize * type.bytesPerBlock
            infos.append(Info(name: name, type: type, dimensions: dimensions, offset: offset, byteCount: byteCount))
        }

        // The data section starts at the next multiple of the alignment after the tensor infos.
        let infoEnd = reader.offset
        let padding = (alignment - infoEnd % alignment) % alignment
        let dataOffset = infoEnd + padding
        if !infos.isEmpty { try reader.skip(to: dataOffset, "padding before tensor data") }
        self.dataOffset = dataOffset
        let dataSectionSize = max(0, fileSize - dataOffset)

        var tensors: [String: TensorView] = [:]
        tensors.reserveCapacity(infos.count)
        for info in infos {
            guard info.offset <= UInt64(dataSectionSize), info.byteCount <= dataSectionSize - Int(info.offset) else {
                throw GGUFError.tensorOutOfBounds(tensor: info.name, offset: info.offset, byteCount: info.byteCount,
                                                  dataSectionSize: dataSectionSize, fileSize: fileSize)
            }
            tensors[info.name] = TensorView(name: info.name, type: info.type, dimensions: info.dimensions,
                                            data: mapping.base + dataOffset + Int(info.offset), byteCount: info.byteCount)
        }
        self.metadata = metadata
        self.metadataKeys = keys
        self.tensors = tensors
        self.tensorNames = infos.map(\.name)
    }

    private static func readValue(_ type: GGUFValueType, key: String, reader: inout GGUFByteReader) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, key))
        case .int8: return .int8(try reader.read(Int8.self, key))
        case .uint16: return .uint16(try reader.read(UInt16.self, key))
        case .int16: return .int16(try reader.read(Int16.self, key))
        case .uint32: return .uint32(try reader.read(UInt32.self, key))
        case .int32: return .int32(try reader.read(Int32.self, key))
        case .uint64: return .uint64(try reader.read(UInt64.self, key))
        case .int64: return .int64(try reader.read(Int64.self, key))
        case .float32: return .float32(try reader.readFloat(key))
        case .float64: return .float64(try reader.readDouble(key))
        case .bool: return .bool(try reader.read(UInt8.self, key) != 0)
        case .string: return .string(try reader.readString(key))
        case .array: return .array(try readArray(key: key, depth: 1, reader: &reader))
        }
    }

    private static func readArray(key: String, depth: Int, reader: inout GGUFByteReader) throws -> GGUFArray {
        guard depth <= maximumArrayNesting else { throw GGUFError.arrayNestingTooDeep(key: key, limit: maximumArrayNesting) }
        let rawType = try reader.read(UInt32.self, "array element type of \(key)")
        guard let type = GGUFValueType(rawValue: rawType) else { throw GGUFError.unknownValueType(key: key, raw: rawType) }
        let count = try reader.readCount("element count of \(key)", minimumItemSize: type.minimumEncodedSize)
        switch type {
        case .uint8: return .uint8(try reader.readIntegers(UInt8.self, count: count, key))
        case .int8: return .int8(try reader.readIntegers(Int8.self, count: count, key))
        case .uint16: return .uint16(try reader.readIntegers(UInt16.self, count: count, key))
        case .int16: return .int16(try reader.readIntegers(Int16.self, count: count, key))
        case .uint32: return .uint32(try reader.readIntegers(UInt32.self, count: count, key))
        case .int32: return .int32(try reader.readIntegers(Int32.self, count: count, key))
        case .uint64: return .uint64(try reader.readIntegers(UInt64.self, count: count, key))
        case .int64: return .int64(try reader.readIntegers(Int64.self, count: count, key))
        case .float32: return .float32(try reader.readIntegers(UInt32.self, count: count, key).map(Float.init(bitPattern:)))
        case .float64: return .float64(try reader.readIntegers(UInt64.self, count: count, key).map(Double.init(bitPattern:)))
        case .bool: return .bool(try reader.readIntegers(UInt8.self, count: count, key).map { $0 != 0 })
        case .string:
            var strings: [String] = []
            strings.reserveCapacity(count)
            for _ in 0..<count { strings.append(try reader.readString(key)) }
            return .string(strings)
        case .array:
            var arrays: [GGUFArray] = []
            arrays.reserveCapacity(count)
            for _ in 0..<count { arrays.append(try readArray(key: key, depth: depth + 1, reader: &reader)) }
            return .array(arrays)
        }
    }

    private static func describe(_ value: GGUFValue) -> String {
        switch value {
        case .string: return "a string"
        case .array: return "an array"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        default: return value.integer.map(String.init) ?? "\(value.type)"
        }
    }
}

// MARK: - Typed metadata access

extension GGUFFile {
    /// The string at `key`, nil when absent; a value of another type is an error.
    public func string(_ key: String) throws -> String? {
        try value(key, expected: "string") { if case .string(let s) = $0 { s } else { nil } }
    }

    /// The integer at `key` (any integer width), nil when absent.
    public func integer(_ key: String) throws -> Int? {
        if case .uint64(let v)? = metadata[key], Int(exactly: v) == nil {
            throw GGUFError.valueOutOfRange(key: key, value: "\(v)")
        }
        return try value(key, expected: "integer", \.integer)
    }

    /// The number at `key` (floating point or integer), nil when absent.
    public func number(_ key: String) throws -> Double? {
        try value(key, expected: "number", \.number)
    }

    /// The boolean at `key`, nil when absent.
    public func bool(_ key: String) throws -> Bool? {
        try value(key, expected: "bool") { if case .bool(let b) = $0 { b } else { nil } }
    }

    /// The array at `key`, nil when absent.
    public func array(_ key: String) throws -> GGUFArray? {
        try value(key, expected: "array") { if case .array(let a) = $0 { a } else { nil } }
    }

    /// The value at `key` as `convert` reads it, nil when absent; a value it cannot read is a type
    /// mismatch with `expected`.
    private func value<T>(_ key: String, expected: String, _ convert: (GGUFValue) -> T?) throws -> T? {
        guard let value = metadata[key] else { return nil }
        guard let converted = convert(value) else {
            throw GGUFError.typeMismatch(key: key, expected: expected, found: value.type)
        }
        return converted
    }

    /// The array of strings at `key`, nil when absent.
    public func stringArray(_ key: String) throws -> [String]? {
        guard let a = try array(key) else { return nil }
        guard case .string(let strings) = a else {
            throw GGUFError.typeMismatch(key: key, expected: "array of string", found: a.elementType)
        }
        return strings
    }

    public func requireString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw GGUFError.missingKey(key) }
        return s
    }

    public func requireInteger(_ key: String) throws -> Int {
        guard let i = try integer(key) else { throw GGUFError.missingKey(key) }
        return i
    }

    public func requireNumber(_ key: String) throws -> Double {
        guard let n = try number(key) else { throw GGUFError.missingKey(key) }
        return n
    }
}
