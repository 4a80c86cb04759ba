import CKernels

/// Swift versions of the attention kernels (CKernels attention.c), operation for operation like
/// ReferenceKernels, so the portable path computes the same bits.
extension ReferenceKernels {
    /// The kernels' exp (ck_exp16): Arm optimized-routines expf, as llama.cpp uses. The final
    /// j * 2^n is rounded once, as vscalefps does (also where the result is subnormal), and a NaN
    /// argument gives NaN.
    static func exp(_ x: Float) -> Float {
        let shift: Float = 0x1.8p23
        let n = shift.addingProduct(x, 0x1.715476p+0) - shift
        var b = x.addingProduct(-n, 0x1.62e4p-1)
        b = b.addingProduct(-n, 0x1.7f7d1cp-20)
        let u = b * b
        let high = Float(0x1.fffdb6p-2).addingProduct(0x1.555e66p-3, b)
            .addingProduct(Float(0x1.573e2ep-5).addingProduct(0x1.0e4020p-7, b), u)
        let j = Float(1).addingProduct(0x1.ffffecp-1, b).addingProduct(high, u)
        guard !(abs(n) > 192) else { return n <= 0 ? 0 : .infinity }
        guard !n.isNaN else { return j }
        // Exact in double (j has 24 bits, 2^n is in range), so converting rounds once.
        return Float(Double(j) * Double(sign: .plus, exponent: Int(n), significand: 1))
    }

    private static func page(_ kv: ck_kv_view, _ position: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(kv.pages[position / Int(kv.pagePositions)]!)
    }

    static func attentionScores(_ q: UnsafePointer<Float>, group: Int, kv: ck_kv_view, start: Int, end: Int,
                                scale: Float, scores: UnsafeMutablePointer<Float>, stride: Int) {
        let hd = Int(kv.headDim), positions = Int(kv.pagePositions)
        for a in 0..<group {
            for j in start..<end {
                let tile = (j % positions) / 16
                let base = page(kv, j) + kv.keyOffset
                var acc: Float = 0
                for d in 0..<hd {
                    acc = acc.addingProduct(q[a * hd + d], HalfPrecision.loadHalf(base, 2 * ((tile * hd + d) * 16 + j % 16)))
                }
                scores[a * stride + j] = acc * scale
            }
        }
    }

    static func softmaxNormalizer(_ scores: UnsafePointer<Float>, length: Int) -> (maximum: Float, inverseSum: Float) {
        var m = -Float.infinity
        for j in 0..<length { m = max(m, scores[j]) }
        var sum = 0.0
        for tile in stride(from: 0, to: length, by: 16) {
            var e = SIMD16<Float>()
            for l in 0..<min(16, length - tile) { e[l] = exp(scores[tile + l] - m) }
            sum += Double(laneSum(e))
        }
        return (m, Float(1 / sum))
    }

    static func softmaxProbabilities(_ scores: UnsafePointer<Float>, maximum: Float, inverseSum: Float,
                                     start: Int, end: Int, p: UnsafeMutablePointer<Float>) {
        for j in start..<end { p[j - start] = Float(Float16(exp(scores[j] - maximum) * inverseSum)) }
    }

    static func attentionValues(_ p: UnsafePointer<Float>, pStride: Int, group: Int, kv: ck_kv_view, start: Int, end: Int,
                                out: UnsafeMutablePointer<Float>) {
        let hd = Int(kv.headDim), positions = Int(kv.pagePositions)
        for a in 0..<group {
            for d in 0..<hd {
                var o: Float = 0
                for j in start..<end {
                    let base = page(kv, j) + kv.valueOffset
                    o = o.addingProduct(p[a * pStride + j - start], HalfPrecision.loadHalf(base, 2 * ((j % positions) * hd + d)))
                }
                out[a * hd + d] = o
            }
        }
    }
}
