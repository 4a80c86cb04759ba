/// IEEE half and bfloat16 conversions from raw bits.
enum HalfPrecision {
    @inline(__always)
    static func float(fromHalf bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    @inline(__always)
    static func half(from value: Float) -> UInt16 {
        Float16(value).bitPattern
    }

    @inline(__always)
    static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Reads a little-endian half at `offset` (any alignment).
    @inline(__always)
    static func loadHalf(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
        float(fromHalf: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
}
