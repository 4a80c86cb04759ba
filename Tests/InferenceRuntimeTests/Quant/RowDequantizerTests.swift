import CKernels
import Testing
@testable import InferenceRuntime

@Suite struct RowDequantizerTests {
    /// Deterministic pseudo-random integers in `range`.
    static func quants(_ count: Int, _ range: ClosedRange<Int>, seed: Int) -> [Int] {
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return range.lowerBound + Int(state % UInt64(range.count))
        }
    }

    static func decode(_ type: GGMLType, _ bytes: [UInt8], count: Int) throws -> [Float] {
        try RowDequantizer.validate(type: type, rowLength: count)
        #expect(bytes.count == type.byteCount(elements: count))
        var out = [Float](repeating: .nan, count: count)
        bytes.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { RowDequantizer.dequantize(type, from: raw.baseAddress!, count: count, into: $0.baseAddress!) }
        }
        return out
    }

    @Test func f32F16AndBF16() throws {
        let values: [Float] = [0, -0, 1, -2.5, 65504, 6.1035156e-05, 5.9604645e-08, -0.333251953125]
        let f32 = values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        #expect(try Self.decode(.f32, f32, count: values.count) == values)
        let f16 = values.flatMap { BlockEncoder.half($0) }
        #expect(try Self.decode(.f16, f16, count: values.count) == values)
        // bfloat16 keeps the top 16 bits of the f32 pattern.
        let bfValues: [Float] = [1, -2.5, 3.140625, 1e30, -1e-30]
        let bf16 = bfValues.flatMap { v -> [UInt8] in
            let bits = UInt16(v.bitPattern >> 16)
            return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
        }
        let decoded = try Self.decode(.bf16, bf16, count: bfValues.count)
        for (d, v) in zip(decoded, bfValues) { #expect(d == Float(bitPattern: v.bitPattern & 0xFFFF_0000)) }
    }

    @Test func q8_0() throws {
        let q = [-128, 127] + Self.quants(62, -128...127, seed: 1)
        let bytes = BlockEncoder.q8_0(d: 0.5, q: Array(q[0..<32])) + BlockEncoder.q8_0(d: -0.0078125, q: Array(q[32..<64]))
        let out = try Self.decode(.q8_0, bytes, count: 64)
        for i in 0..<64 { #expect(out[i] == Float(q[i]) * (i < 32 ? 0.5 : -0.0078125)) }
    }

    @Test func q4_0() throws {
        let q = Self.quants(32, 0...15, seed: 2)
        let out = try Self.decode(.q4_0, BlockEncoder.q4_0(d: 0.25, q: q), count: 32)
        for i in 0..<32 { #expect(out[i] == Float(q[i] - 8) * 0.25) }
    }

    @Test func q4_1() throws {
        let q = Self.quants(32, 0...15, seed: 3)
        let out = try Self.decode(.q4_1, BlockEncoder.q4_1(d: 0.125, m: -1.5, q: q), count: 32)
        for i in 0..<32 { #expect(out[i] == Float(q[i]) * 0.125 - 1.5) }
    }

    @Test func q5_0() throws {
        let q = [0, 31, 16, 15] + Self.quants(28, 0...31, seed: 4)
        let out = try Self.decode(.q5_0, BlockEncoder.q5_0(d: 0.75, q: q), count: 32)
        for i in 0..<32 { #expect(out[i] == Float(q[i] - 16) * 0.75) }
    }

    @Test func q5_1() throws {
        let q = Self.quants(32, 0...31, seed: 5)
        let out = try Self.decode(.q5_1, BlockEncoder.q5_1(d: 0.0625, m: 2, q: q), count: 32)
        for i in 0..<32 { #expect(out[i] == Float(q[i]) * 0.0625 + 2) }
    }

    @Test func q4_K() throws {
        let q = Self.quants(256, 0...15, seed: 6)
        let scales = [1, 63, 17, 32, 5, 48, 62, 33], mins = [0, 7, 63, 40, 31, 16, 2, 59]
        let d: Float = 0.5, dmin: Float = 0.25
        let out = try Self.decode(.q4_K, BlockEncoder.q4_K(d: d, dmin: dmin, scales: scales, mins: mins, q: q), count: 256)
        for i in 0..<256 {
            let j = i / 32
            #expect(out[i] == d * Float(scales[j]) * Float(q[i]) - dmin * Float(mins[j]))
        }
    }

    @Test func q5_K() throws {
        let q = Self.quants(256, 0...31, seed: 7)
        let scales = [63, 1, 20, 33, 47, 8, 16, 60], mins = [9, 63, 0, 12, 50, 33, 1, 30]
        let d: Float = 0.125, dmin: Float = 1.5
        let out = try Self.decode(.q5_K, BlockEncoder.q5_K(d: d, dmin: dmin, scales: scales, mins: mins, q: q), count: 256)
        for i in 0..<256 {
            let j = i / 32
            #expect(out[i] == d * Float(scales[j]) * Float(q[i]) - dmin * Float(mins[j]))
        }
    }

    @Test func q6_K() throws {
        let q = [0, 63] + Self.quants(254, 0...63, seed: 8)
        let scales = [-128, 127, 1, -1, 64, -64, 3, 100, -100, 0, 12, -7, 77, 31, -31, 5]
        let d: Float = 0.03125
        let out = try Self.decode(.q6_K, BlockEncoder.q6_K(d: d, scales: scales, q: q), count: 256)
        for i in 0..<256 { #expect(out[i] == d * Float(scales[i / 16]) * Float(q[i] - 32)) }
    }

    /// The C row conversion (used by the float matmul path) gives RowDequantizer's bits for any
    /// block contents, random bytes included.
    @Test(.enabled(if: !KernelSet.simdSets.isEmpty))
    func simdRowConversionMatchesTheReference() {
        var rng = SyntheticRandom(seed: 99)
        for type in RowDequantizer.supportedTypes.sorted(by: { $0.rawValue < $1.rawValue }) {
            let count = 2 * max(type.blockSize, 32)
            let bytes = (0..<type.byteCount(elements: count)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var reference = [Float](repeating: 0, count: count)
            bytes.withUnsafeBytes { raw in
                reference.withUnsafeMutableBufferPointer {
                    RowDequantizer.dequantize(type, from: raw.baseAddress!, count: count, into: $0.baseAddress!)
                }
            }
            for kernels in KernelSet.simdSets {
                var simd = [Float](repeating: 0, count: count)
                bytes.withUnsafeBytes { raw in
                    simd.withUnsafeMutableBufferPointer {
                        let converted = kernels == .avx512
                            ? ck_dequantize_row_avx512(type.rawValue, raw.baseAddress!, $0.baseAddress!, Int32(count))
                            : ck_dequantize_row_avx2(type.rawValue, raw.baseAddress!, $0.baseAddress!, Int32(count))
                        #expect(converted == 1)
                    }
                }
                #expect(reference.map(\.bitPattern) == simd.map(\.bitPattern), "\(type) \(kernels)")
            }
        }
    }

    @Test func unsupportedTypesAndBadLengthsAreErrors() {
        #expect(throws: QuantError.unsupportedType(.q2_K)) { try RowDequantizer.validate(type: .q2_K, rowLength: 256) }
        #expect(throws: QuantError.rowLengthNotMultipleOfBlock(type: .q4_1, length: 48)) {
            try RowDequantizer.validate(type: .q4_1, rowLength: 48)
        }
    }

    @Test func tensorViewRows() throws {
        let q = Self.quants(64, 0...15, seed: 9)
        let bytes = BlockEncoder.q4_1(d: 1, m: 0, q: Array(q[0..<32])) + BlockEncoder.q4_1(d: 2, m: 1, q: Array(q[32..<64]))
        try bytes.withUnsafeBytes { raw in
            let view = TensorView(name: "t", type: .q4_1, dimensions: [32, 2], data: raw.baseAddress!, byteCount: raw.count)
            var row = [Float](repeating: 0, count: 32)
            try row.withUnsafeMutableBufferPointer { try view.dequantizeRow(1, into: $0.baseAddress!) }
            for i in 0..<32 { #expect(row[i] == Float(q[32 + i]) * 2 + 1) }
        }
    }
}
