import InferenceRuntime

/// Writes GGUF images for tests, independently of the reader: little-endian fields in the order
/// of the format specification, tensor data aligned, no padding after the last tensor (so any
/// shorter prefix of the image is a truncated file).
struct GGUFWriter {
    struct Tensor {
        var name: String
        var type: GGMLType
        var dimensions: [Int]
        var data: [UInt8]
    }

    var version: UInt32 = 3
    var metadata: [(String, GGUFValue)] = []
    var tensors: [Tensor] = []
    var alignment = 32

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        put(&out, UInt32(0x4655_4747))
        put(&out, version)
        put(&out, UInt64(tensors.count))
        put(&out, UInt64(metadata.count))
        for (key, value) in metadata {
            putString(&out, key)
            put(&out, value.type.rawValue)
            putValue(&out, value)
        }
        var offset = 0
        var offsets: [Int] = []
        for tensor in tensors {
            offset = (offset + alignment - 1) / alignment * alignment
            offsets.append(offset)
            offset += tensor.data.count
        }
        for (tensor, tensorOffset) in zip(tensors, offsets) {
            putString(&out, tensor.name)
            put(&out, UInt32(tensor.dimensions.count))
            for d in tensor.dimensions { put(&out, UInt64(d)) }
            put(&out, tensor.type.rawValue)
            put(&out, UInt64(tensorOffset))
        }
        let dataStart = (out.count + alignment - 1) / alignment * alignment
        out += [UInt8](repeating: 0, count: dataStart - out.count)
        for (tensor, tensorOffset) in zip(tensors, offsets) {
            out += [UInt8](repeating: 0, count: dataStart + tensorOffset - out.count)
            out += tensor.data
        }
        return out
    }

    private func put<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    private func putString(_ out: inout [UInt8], _ s: String) {
        put(&out, UInt64(s.utf8.count))
        out += Array(s.utf8)
    }

    private func putValue(_ out: inout [UInt8], _ value: GGUFValue) {
        switch value {
        case .uint8(let v): put(&out, v)
        case .int8(let v): put(&out, v)
        case .uint16(let v): put(&out, v)
        case .int16(let v): put(&out, v)
        case .uint32(let v): put(&out, v)
        case .int32(let v): put(&out, v)
        case .uint64(let v): put(&out, v)
        case .int64(let v): put(&out, v)
        case .float32(let v): put(&out, v.bitPattern)
        case .float64(let v): put(&out, v.bitPattern)
        case .bool(let v): put(&out, UInt8(v ? 1 : 0))
        case .string(let s): putString(&out, s)
        case .array(let a): putArray(&out, a)
        }
    }

    private func putArray(_ out: inout [UInt8], _ array: GGUFArray) {
        put(&out, array.elementType.rawValue)
        put(&out, UInt64(array.count))
        switch array {
        case .uint8(let a): a.forEach { put(&out, $0) }
        case .int8(let a): a.forEach { put(&out, $0) }
        case .uint16(let a): a.forEach { put(&out, $0) }
        case .int16(let a): a.forEach { put(&out, $0) }
        case .uint32(let a): a.forEach { put(&out, $0) }
        case .int32(let a): a.forEach { put(&out, $0) }
        case .uint64(let a): a.forEach { put(&out, $0) }
        case .int64(let a): a.forEach { put(&out, $0) }
        case .float32(let a): a.forEach { put(&out, $0.bitPattern) }
        case .float64(let a): a.forEach { put(&out, $0.bitPattern) }
        case .bool(let a): a.forEach { put(&out, UInt8($0 ? 1 : 0)) }
        case .string(let a): a.forEach { putString(&out, $0) }
        case .array(let a): a.forEach { putArray(&out, $0) }
        }
    }
}

extension GGUFWriter {
    /// A small file holding every metadata value type (nested arrays included) and three tensors.
    static func sample(version: UInt32 = 3) -> GGUFWriter {
        var writer = GGUFWriter(version: version)
        writer.metadata = [
            ("general.architecture", .string("llama")),
            ("test.u8", .uint8(200)), ("test.i8", .int8(-100)),
            ("test.u16", .uint16(60000)), ("test.i16", .int16(-30000)),
            ("test.u32", .uint32(4_000_000_000)), ("test.i32", .int32(-2_000_000_000)),
            ("test.u64", .uint64(1 << 60)), ("test.i64", .int64(-(1 << 60))),
            ("test.f32", .float32(1.5)), ("test.f64", .float64(-2.25)),
            ("test.bool", .bool(true)), ("test.string", .string("héllo ✓")),
            ("test.empty_string", .string("")),
            ("test.strings", .array(.string(["a", "bc", "", "日本"]))),
            ("test.ints", .array(.int32([1, -2, 3]))),
            ("test.floats", .array(.float32([0.5, -1]))),
            ("test.nested", .array(.array([.uint8([1, 2]), .string(["x"]), .array([.bool([true, false])])]))),
            ("test.empty_array", .array(.uint64([]))),
        ]
        let f32: [Float] = [1, 2, 3, 4, 5, 6]
        writer.tensors = [
            Tensor(name: "a.weight", type: .f32, dimensions: [3, 2],
                   data: f32.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }),
            Tensor(name: "b.weight", type: .q8_0, dimensions: [32, 2], data: (0..<68).map { UInt8($0) }),
            Tensor(name: "c.weight", type: .f16, dimensions: [5], data: [UInt8](repeating: 0x3C, count: 10)),
        ]
        return writer
    }
}
