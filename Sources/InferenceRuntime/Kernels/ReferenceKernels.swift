import CKernels

/// Portable Swift versions of the CKernels functions, operation for operation: the same integer
/// block sums, the same fused multiply-adds per lane and the same lane-summing order, so their
/// results are bit-identical. They run on CPUs without AVX2 (x86-64 before x86-64-v3, aarch64) or
/// with POPI_KERNELS=portable, and the tests hold the SIMD kernels (AVX-512 and AVX2) to them.
enum ReferenceKernels {
    /// Sum of 16 lanes in the kernels' order: l + l+8, then l+4, l+2, l+1.
    @inline(__always)
    static func laneSum(_ v: SIMD16<Float>) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }

    /// Lane-wise fused multiply-add acc + a * b.
    @inline(__always)
    static func fma(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ acc: SIMD16<Float>) -> SIMD16<Float> {
        var r = acc
        for l in 0..<16 { r[l] = acc[l].addingProduct(a[l], b[l]) }
        return r
    }

    @inline(__always)
    static func loadFloats(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD16<Float> {
        var v = SIMD16<Float>()
        for l in 0..<16 { v[l] = p.load(fromByteOffset: offset + 4 * l, as: Float.self) }
        return v
    }

    @inline(__always)
    static func loadHalves(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD16<Float> {
        var v = SIMD16<Float>()
        for l in 0..<16 { v[l] = HalfPrecision.loadHalf(p, offset + 2 * l) }
        return v
    }

    /// Two halves spread to the tail lane pattern A A A A B B B B A A A A B B B B.
    @inline(__always)
    static func loadHalfPair(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD16<Float> {
        let a = HalfPrecision.loadHalf(p, offset), b = HalfPrecision.loadHalf(p, offset + 2)
        var v = SIMD16<Float>()
        for l in 0..<16 { v[l] = (l / 4) % 2 == 0 ? a : b }
        return v
    }

    // MARK: Activations

    /// The nearest half, as a float.
    @inline(__always)
    static func roundHalf(_ v: Float) -> Float { Float(Float16(v)) }

    /// cvtps2dq then vpmovsdb: round half to even; NaN and values outside Int32 convert to
    /// Int32.min, which saturates to -128.
    @inline(__always)
    static func convertToInt32(_ v: Float) -> Int32 {
        let r = v.rounded(.toNearestOrEven)
        return r >= -0x1p31 && r < 0x1p31 ? Int32(r) : .min
    }

    static func quantizeRows(_ x: UnsafePointer<Float>, xStride: Int, rows: Int, k: Int,
                             out: UnsafeMutableRawPointer, outStride: Int) {
        let l = ck_act_layout_for(Int32(k))
        let full = Int(l.fullGroups)
        for r in 0..<rows {
            let xr = x + r * xStride
            let o = out + r * outStride
            // As quantize.c's quantize_block, also for non-finite or tiny blocks.
            func quantizeBlock(_ block: Int) -> (q: SIMD32<Int8>, d: Float, sum: Int32) {
                var amaxBits: UInt32 = 0
                for i in 0..<32 { amaxBits = max(amaxBits, xr[32 * block + i].bitPattern & 0x7FFF_FFFF) }
                let amax = Float(bitPattern: amaxBits)
                let id: Float = amax != 0 ? 127 / amax : 0
                var q = SIMD32<Int8>()
                var sum: Int32 = 0
                for i in 0..<32 {
                    let v = convertToInt32(xr[32 * block + i] * id)
                    q[i] = Int8(clamping: v)
                    sum &+= v
                }
                return (q, amax / 127, sum)
            }
            for g in 0..<full {
                for b in 0..<16 {
                    let (q, d, sum) = quantizeBlock(16 * g + b)
                    for j in 0..<8 {
                        for i in 0..<4 {
                            o.storeBytes(of: q[4 * j + i], toByteOffset: g * 512 + j * 64 + b * 4 + i, as: Int8.self)
                        }
                    }
                    let lane = g * 16 + b
                    o.storeBytes(of: roundHalf(d), toByteOffset: Int(l.scaleOffset) + 4 * lane, as: Float.self)
                    o.storeBytes(of: roundHalf(d * Float(sum)), toByteOffset: Int(l.sumOffset) + 4 * lane, as: Float.self)
                    o.storeBytes(of: 128 &* sum, toByteOffset: Int(l.biasOffset) + 4 * lane, as: Int32.self)
                }
            }
            let tailBlocks = Int(l.blocks) - full * 16
            for p in 0..<Int(l.tailPairs) {
                let pair = full * 512 + p * 64
                let lane0 = (full + p) * 16
                for half in 0..<2 {
                    let (q, d, sum) = 2 * p + half < tailBlocks
                        ? quantizeBlock(full * 16 + 2 * p + half) : (q: SIMD32<Int8>(), d: 0, sum: 0)
                    for i in 0..<16 {
                        o.storeBytes(of: q[i], toByteOffset: pair + half * 16 + i, as: Int8.self)
                        o.storeBytes(of: q[16 + i], toByteOffset: pair + 32 + half * 16 + i, as: Int8.self)
                    }
                    // Lanes half * 4 + i and 8 + half * 4 + i belong to this block.
                    for i in 0..<4 {
                        for lane in stride(from: lane0 + half * 4 + i, to: lane0 + 16, by: 8) {
                            o.storeBytes(of: roundHalf(d), toByteOffset: Int(l.scaleOffset) + 4 * lane, as: Float.self)
                            o.storeBytes(of: roundHalf(d * Float(sum)) * 0.125, toByteOffset: Int(l.sumOffset) + 4 * lane, as: Float.self)
                        }
                    }
                }
                for lane in 0..<16 {
                    var s: Int32 = 0
                    for i in 0..<4 { s += Int32(o.load(fromByteOffset: pair + 4 * lane + i, as: Int8.self)) }
                    o.storeBytes(of: 128 * s, toByteOffset: Int(l.biasOffset) + 4 * (lane0 + lane), as: Int32.self)
                }
            }
        }
    }

    // MARK: Matrix products

    /// Packed 4-bit weights against packed activations (ck_matmul_q4_avx512).
    static func matmulQ4(_ w: UnsafeRawPointer, wStride: Int, nRows: Int,
                         _ a: UnsafeRawPointer, aStride: Int, mRows: Int, k: Int,
                         _ y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool) {
        let wl = ck_q4_layout_for(Int32(k)), al = ck_act_layout_for(Int32(k))
        let full = Int(wl.fullGroups)
        products(nRows: nRows, mRows: mRows, y, yStride: yStride, accumulate: accumulate) { n, m in
            let wn = w + n * wStride
            let am = a + m * aStride
            var acc = SIMD16<Float>()
            for g in 0..<(full + Int(wl.tailPairs)) {
                var isum = SIMD16<Float>()
                for lane in 0..<16 {
                    var s: Int32 = 0
                    if g < full {
                        for p in 0..<4 {
                            for i in 0..<4 {
                                let byte = wn.load(fromByteOffset: g * 256 + p * 64 + lane * 4 + i, as: UInt8.self)
                                let lo = am.load(fromByteOffset: g * 512 + p * 64 + lane * 4 + i, as: Int8.self)
                                let hi = am.load(fromByteOffset: g * 512 + (p + 4) * 64 + lane * 4 + i, as: Int8.self)
                                s += Int32(byte & 0x0F) * Int32(lo) + Int32(byte >> 4) * Int32(hi)
                            }
                        }
                    } else {
                        let pairW = full * 256 + (g - full) * 32
                        let pairA = full * 512 + (g - full) * 64
                        for i in 0..<4 {
                            let t = 4 * lane + i
                            let byte = wn.load(fromByteOffset: pairW + t % 32, as: UInt8.self)
                            let q = t < 32 ? byte & 0x0F : byte >> 4
                            s += Int32(q) * Int32(am.load(fromByteOffset: pairA + t, as: Int8.self))
                        }
                    }
                    isum[lane] = Float(s)
                }
                let dv: SIMD16<Float>, mv: SIMD16<Float>
                if g < full {
                    dv = loadHalves(wn, Int(wl.scaleOffset) + 32 * g)
                    mv = loadHalves(wn, Int(wl.minOffset) + 32 * g)
                } else {
                    let block0 = full * 16 + 2 * (g - full)
                    dv = loadHalfPair(wn, Int(wl.scaleOffset) + 2 * block0)
                    mv = loadHalfPair(wn, Int(wl.minOffset) + 2 * block0)
                }
                let s = dv * loadFloats(am, Int(al.scaleOffset) + 64 * g)
                acc = fma(isum, s, acc)
                acc = fma(mv, loadFloats(am, Int(al.sumOffset) + 64 * g), acc)
            }
            return acc
        }
    }

    /// Packed 8-bit weights against packed activations (ck_matmul_q8_avx512).
    static func matmulQ8(_ w: UnsafeRawPointer, wStride: Int, nRows: Int,
                         _ a: UnsafeRawPointer, aStride: Int, mRows: Int, k: Int,
                         _ y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool) {
        let wl = ck_q8_layout_for(Int32(k)), al = ck_act_layout_for(Int32(k))
        let full = Int(wl.fullGroups)
        products(nRows: nRows, mRows: mRows, y, yStride: yStride, accumulate: accumulate) { n, m in
            let wn = w + n * wStride
            let am = a + m * aStride
            var acc = SIMD16<Float>()
            for g in 0..<(full + Int(wl.tailPairs)) {
                let offset = g < full ? g * 512 : full * 512 + (g - full) * 64
                let slabs = g < full ? 8 : 1
                var isum = SIMD16<Float>()
                for lane in 0..<16 {
                    var s: Int32 = 0
                    for j in 0..<slabs {
                        for i in 0..<4 {
                            let at = offset + j * 64 + lane * 4 + i
                            s += Int32(wn.load(fromByteOffset: at, as: UInt8.self)) * Int32(am.load(fromByteOffset: at, as: Int8.self))
                        }
                    }
                    // Wraps like vpsubd: a non-finite block's bias may be any value.
                    s &-= am.load(fromByteOffset: Int(al.biasOffset) + 4 * (16 * g + lane), as: Int32.self)
                    isum[lane] = Float(s)
                }
                let dv = g < full
                    ? loadHalves(wn, Int(wl.scaleOffset) + 32 * g)
                    : loadHalfPair(wn, Int(wl.scaleOffset) + 2 * (full * 16 + 2 * (g - full)))
                acc = fma(isum, dv * loadFloats(am, Int(al.scaleOffset) + 64 * g), acc)
            }
            return acc
        }
    }

    /// f32 weights against f32 activations (ck_matmul_f32_avx512): 16 lanes over k. Any k: a
    /// last partial tile has zero lanes, which leave their sums unchanged.
    static func matmulF32(_ w: UnsafePointer<Float>, wStride: Int, nRows: Int,
                          _ x: UnsafePointer<Float>, xStride: Int, mRows: Int, k: Int,
                          _ y: UnsafeMutablePointer<Float>, yStride: Int, accumulate: Bool) {
        let whole = k / 16 * 16
        products(nRows: nRows, mRows: mRows, y, yStride: yStride, accumulate: accumulate) { n, m in
            var acc = SIMD16<Float>()
            for i in stride(from: 0, to: whole, by: 16) {
                acc = fma(loadFloats(w + n * wStride + i, 0), loadFloats(x + m * xStride + i, 0), acc)
            }
            if whole < k {
                var wv = SIMD16<Float>(), xv = SIMD16<Float>()
                for l in 0..<(k - whole) {
                    wv[l] = w[n * wStride + whole + l]
                    xv[l] = x[m * xStride + whole + l]
                }
                acc = fma(wv, xv, acc)
            }
            return acc
        }
    }

    /// y[m * yStride + n] = the lane sum of `accumulator(n, m)` (or += with `accumulate`) for every
    /// weight row n and input row m: the loops and the store every matrix product shares.
    private static func products(nRows: Int, mRows: Int, _ y: UnsafeMutablePointer<Float>, yStride: Int,
                                 accumulate: Bool, _ accumulator: (_ n: Int, _ m: Int) -> SIMD16<Float>) {
        for n in 0..<nRows {
            for m in 0..<mRows {
                let r = laneSum(accumulator(n, m))
                y[m * yStride + n] = accumulate ? y[m * yStride + n] + r : r
            }
        }
    }
}
