/// Converts rows of any supported ggml tensor type to f32, following ggml's block layouts
/// (`ggml-common.h`) and dequantization formulas exactly.
public enum RowDequantizer {
    /// Types that can be converted to f32.
    public static let supportedTypes: Set<GGMLType> = [
        .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K,
    ]

    /// Throws unless rows of `length` elements of `type` can be dequantized.
    public static func validate(type: GGMLType, rowLength length: Int) throws {
        guard supportedTypes.contains(type) else { throw QuantError.unsupportedType(type) }
        guard length > 0, length % type.blockSize == 0 else {
            throw QuantError.rowLengthNotMultipleOfBlock(type: type, length: length)
        }
    }

    /// Writes `count` f32 values decoded from `source` (a run of whole blocks) to `destination`.
    /// Precondition: `validate(type:rowLength: count)` succeeds.
    public static func dequantize(
        _ type: GGMLType, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        // Block types: each block's bytes decode to its run of elements.
        let elements = type.blockSize, bytes = type.bytesPerBlock
        func blocks(_ decode: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void) {
            for b in 0..<count / elements { decode(source + b * bytes, destination + b * elements) }
        }
        switch type {
        case .f32:
            destination.update(from: source.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            for i in 0..<count { destination[i] = HalfPrecision.loadHalf(source, 2 * i) }
        case .bf16:
            for i in 0..<count {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = HalfPrecision.float(fromBFloat16: bits)
            }
        case .q8_0: blocks(q8_0)
        case .q4_0: blocks(q4_0)
        case .q4_1: blocks(q4_1)
        case .q5_0: blocks(q5_0)
        case .q5_1: blocks(q5_1)
        case .q4_K: blocks(q4_K)
        case .q5_K: blocks(q5_K)
        case .q6_K: blocks(q6_K)
        case .q8_1, .q2_K, .q3_K, .q8_K:
            preconditionFailure("dequantize called for unsupported type \(type)")
        }
    }

    // MARK: 32-element blocks

    /// { f16 d; i8 q[32] }: x = d * q.
    private static func q8_0(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.loadHalf(block, 0)
        for j in 0..<32 { y[j] = Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    /// { f16 d; u8 qs[16] }: low nibbles are elements 0..<16, high nibbles 16..<32; x = d * (q - 8).
    private static func q4_0(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.loadHalf(block, 0)
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 2 + j, as: UInt8.self)
            y[j] = Float(Int(byte & 0x0F) - 8) * d
            y[j + 16] = Float(Int(byte >> 4) - 8) * d
        }
    }

    /// { f16 d; f16 m; u8 qs[16] }: x = d * q + m.
    private static func q4_1(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.loadHalf(block, 0)
        let m = HalfPrecision.loadHalf(block, 2)
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 4 + j, as: UInt8.self)
            y[j] = Float(byte & 0x0F) * d + m
            y[j + 16] = Float(byte >> 4) * d + m
        }
    }

    /// { f16 d; u8 qh[4]; u8 qs[16] }: bit j of qh is the fifth bit of element j; x = d * (q - 16).
    private static func q5_0(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.loadHalf(block, 0)
        let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0..<16 {
            let (low, high) = fiveBitPair(block.load(fromByteOffset: 6 + j, as: UInt8.self), qh, j)
            y[j] = Float(low - 16) * d
            y[j + 16] = Float(high - 16) * d
        }
    }

    /// { f16 d; f16 m; u8 qh[4]; u8 qs[16] }: x = d * q + m.
    private static func q5_1(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.loadHalf(block, 0)
        let m = HalfPrecision.loadHalf(block, 2)
        let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0..<16 {
            let (low, high) = fiveBitPair(block.load(fromByteOffset: 8 + j, as: UInt8.self), qh, j)
            y[j] = Float(low) * d + m
            y[j + 16] = Float(high) * d + m
        }
    }

    /// Elements j and j + 16 of a Q5 block: quant byte j's nibbles with their fifth bits from qh.
    @inline(__always)
    private static func fiveBitPair(_ byte: UInt8, _ qh: UInt32, _ j: Int) -> (low: Int, high: Int) {
        (Int(byte & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4, Int(byte >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4)
    }

    // MARK: 256-element super-blocks

    /// Six-bit scale and min of sub-block `j` (0..<8) from the 12 packed bytes of Q4_K / Q5_K.
    @inline(__always)
    private static func scaleMin(_ j: Int, _ s: UnsafeRawPointer) -> (scale: Float, min: Float) {
        func byte(_ i: Int) -> UInt8 { s.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 {
            return (Float(byte(j) & 63), Float(byte(j + 4) & 63))
        }
        let scale = (byte(j + 4) & 0x0F) | ((byte(j - 4) >> 6) << 4)
        let min = (byte(j + 4) >> 4) | ((byte(j) >> 6) << 4)
        return (Float(scale), Float(min))
    }

    /// d * scale and dmin * min of the two sub-blocks of `pair` (0..<4) of a Q4_K / Q5_K block
    /// ({ f16 d; f16 dmin; u8 scales[12]; ... }).
    @inline(__always)
    private static func pairScales(_ block: UnsafeRawPointer, _ pair: Int) -> (Float, Float, Float, Float) {
        let d = HalfPrecision.loadHalf(block, 0)
        let dmin = HalfPrecision.loadHalf(block, 2)
        let (s1, m1) = scaleMin(2 * pair, block + 4)
        let (s2, m2) = scaleMin(2 * pair + 1, block + 4)
        return (d * s1, dmin * m1, d * s2, dmin * m2)
    }

    /// { f16 d; f16 dmin; u8 scales[12]; u8 qs[128] }: eight sub-blocks of 32; each 32 bytes of qs
    /// hold two sub-blocks (low nibbles, then high nibbles); x = d * scale * q - dmin * min.
    private static func q4_K(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        for pair in 0..<4 {
            let q = block + 16 + 32 * pair
            let (d1, min1, d2, min2) = pairScales(block, pair)
            let out = y + 64 * pair
            for l in 0..<32 {
                let byte = q.load(fromByteOffset: l, as: UInt8.self)
                out[l] = d1 * Float(byte & 0x0F) - min1
                out[l + 32] = d2 * Float(byte >> 4) - min2
            }
        }
    }

    /// { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128] }: like Q4_K with a fifth bit per
    /// element in qh (bit 2*pair for the low sub-block, 2*pair+1 for the high one).
    private static func q5_K(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let qh = block + 16
        for pair in 0..<4 {
            let ql = block + 48 + 32 * pair
            let (d1, min1, d2, min2) = pairScales(block, pair)
            let lowBit = UInt8(1) << UInt8(2 * pair), highBit = UInt8(2) << UInt8(2 * pair)
            let out = y + 64 * pair
            for l in 0..<32 {
                let byte = ql.load(fromByteOffset: l, as: UInt8.self)
                let h = qh.load(fromByteOffset: l, as: UInt8.self)
                out[l] = d1 * Float(Int(byte & 0x0F) + (h & lowBit != 0 ? 16 : 0)) - min1
                out[l + 32] = d2 * Float(Int(byte >> 4) + (h & highBit != 0 ? 16 : 0)) - min2
            }
        }
    }

    /// { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }: six-bit q (low four bits in ql, two high
    /// bits in qh), sixteen sub-blocks of 16 with signed 8-bit scales; x = d * scale * (q - 32).
    private static func q6_K(_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = HalfPrecision.loadHalf(block, 208)
        for half in 0..<2 {
            let ql = block + 64 * half
            let qh = block + 128 + 32 * half
            let sc = block + 192 + 8 * half
            let out = y + 128 * half
            func scale(_ i: Int) -> Float { Float(sc.load(fromByteOffset: i, as: Int8.self)) }
            for l in 0..<32 {
                let lowA = ql.load(fromByteOffset: l, as: UInt8.self)
                let lowB = ql.load(fromByteOffset: l + 32, as: UInt8.self)
                let high = qh.load(fromByteOffset: l, as: UInt8.self)
                let q1 = Int((lowA & 0x0F) | ((high >> 0) & 3) << 4) - 32
                let q2 = Int((lowB & 0x0F) | ((high >> 2) & 3) << 4) - 32
                let q3 = Int((lowA >> 4) | ((high >> 4) & 3) << 4) - 32
                let q4 = Int((lowB >> 4) | ((high >> 6) & 3) << 4) - 32
                let s = l / 16
                out[l] = d * scale(s) * Float(q1)
                out[l + 32] = d * scale(s + 2) * Float(q2)
                out[l + 64] = d * scale(s + 4) * Float(q3)
                out[l + 96] = d * scale(s + 6) * Float(q4)
            }
        }
    }
}

extension TensorView {
    /// Row `index` as f32 into `destination` (`rowLength` floats).
    public func dequantizeRow(_ index: Int, into destination: UnsafeMutablePointer<Float>) throws {
        try RowDequantizer.validate(type: type, rowLength: rowLength)
        precondition(index >= 0 && index < rowCount, "row \(index) outside 0..<\(rowCount)")
        RowDequantizer.dequantize(type, from: row(index), count: rowLength, into: destination)
    }
}
