/// Test-side encoders: build ggml blocks from chosen integer quants and scales, following the
/// packing in ggml's quantize_row_*_ref, so expected values come from the chosen numbers, not
/// from the decoder under test.
enum BlockEncoder {
    static func half(_ v: Float) -> [UInt8] {
        let bits = Float16(v).bitPattern
        return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
    }

    /// Q8_0: q in -128...127.
    static func q8_0(d: Float, q: [Int]) -> [UInt8] {
        half(d) + q.map { UInt8(bitPattern: Int8($0)) }
    }

    /// Q4_0 / Q4_1 nibbles: element j in the low nibble of byte j, element j + 16 in the high one.
    static func nibbles(_ q: [Int]) -> [UInt8] {
        (0..<16).map { UInt8(q[$0] | q[$0 + 16] << 4) }
    }

    static func q4_0(d: Float, q: [Int]) -> [UInt8] { half(d) + nibbles(q) }
    static func q4_1(d: Float, m: Float, q: [Int]) -> [UInt8] { half(d) + half(m) + nibbles(q) }

    /// Q5_0 / Q5_1: q in 0...31; bit j of qh is bit 4 of element j.
    static func fiveBit(_ q: [Int]) -> [UInt8] {
        var qh: UInt32 = 0
        for j in 0..<32 where q[j] & 16 != 0 { qh |= 1 << UInt32(j) }
        let high = [UInt8(qh & 0xFF), UInt8((qh >> 8) & 0xFF), UInt8((qh >> 16) & 0xFF), UInt8(qh >> 24)]
        return high + nibbles(q.map { $0 & 15 })
    }

    static func q5_0(d: Float, q: [Int]) -> [UInt8] { half(d) + fiveBit(q) }
    static func q5_1(d: Float, m: Float, q: [Int]) -> [UInt8] { half(d) + half(m) + fiveBit(q) }

    /// K-quant 6-bit scales and mins of 8 sub-blocks in 12 bytes.
    static func scaleBytes(scales: [Int], mins: [Int]) -> [UInt8] {
        var s = [UInt8](repeating: 0, count: 12)
        for j in 0..<8 {
            let ls = UInt8(scales[j]), lm = UInt8(mins[j])
            if j < 4 {
                s[j] = ls
                s[j + 4] = lm
            } else {
                s[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4)
                s[j - 4] |= (ls >> 4) << 6
                s[j] |= (lm >> 4) << 6
            }
        }
        return s
    }

    /// Q4_K: q in 0...15, 8 sub-blocks of 32 with 6-bit scales and mins.
    static func q4_K(d: Float, dmin: Float, scales: [Int], mins: [Int], q: [Int]) -> [UInt8] {
        var qs = [UInt8]()
        for j in stride(from: 0, to: 256, by: 64) {
            for l in 0..<32 { qs.append(UInt8(q[j + l] | q[j + l + 32] << 4)) }
        }
        return half(d) + half(dmin) + scaleBytes(scales: scales, mins: mins) + qs
    }

    /// Q5_K: q in 0...31.
    static func q5_K(d: Float, dmin: Float, scales: [Int], mins: [Int], q: [Int]) -> [UInt8] {
        var qh = [UInt8](repeating: 0, count: 32)
        var ql = [UInt8]()
        var m1: UInt8 = 1, m2: UInt8 = 2
        for n in stride(from: 0, to: 256, by: 64) {
            for j in 0..<32 {
                var l1 = q[n + j], l2 = q[n + j + 32]
                if l1 > 15 { l1 -= 16; qh[j] |= m1 }
                if l2 > 15 { l2 -= 16; qh[j] |= m2 }
                ql.append(UInt8(l1 | l2 << 4))
            }
            m1 <<= 2
            m2 <<= 2
        }
        return half(d) + half(dmin) + scaleBytes(scales: scales, mins: mins) + qh + ql
    }

    /// Q6_K: q in 0...63 (value q - 32), 16 sub-blocks of 16 with signed 8-bit scales.
    static func q6_K(d: Float, scales: [Int], q: [Int]) -> [UInt8] {
        var ql = [UInt8](repeating: 0, count: 128)
        var qh = [UInt8](repeating: 0, count: 64)
        for (half, j) in stride(from: 0, to: 256, by: 128).enumerated() {
            for l in 0..<32 {
                let q1 = q[j + l], q2 = q[j + l + 32], q3 = q[j + l + 64], q4 = q[j + l + 96]
                ql[64 * half + l] = UInt8((q1 & 0xF) | (q3 & 0xF) << 4)
                ql[64 * half + l + 32] = UInt8((q2 & 0xF) | (q4 & 0xF) << 4)
                qh[32 * half + l] = UInt8((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6)
            }
        }
        return ql + qh + scales.map { UInt8(bitPattern: Int8($0)) } + BlockEncoder.half(d)
    }
}
