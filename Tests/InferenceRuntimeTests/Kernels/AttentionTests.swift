import CKernels
import Testing
@testable import InferenceRuntime

/// The attention kernels of every SIMD set against the portable ones, bit for bit, over a paged
/// KV cache built here: group sizes around the kernels' head chunks, ranges with odd ends,
/// extreme and non-finite scores.
@Suite struct AttentionTests {
    /// Keys and values of one KV head in pages of `pagePositions`, in the layout of CKernels.h.
    final class Pages {
        let headDim: Int, pagePositions: Int, count: Int
        let pages: [UnsafeMutableRawPointer]
        let table: UnsafeMutablePointer<UnsafePointer<UInt8>?>

        init(positions: Int, headDim: Int, pagePositions: Int = 32, seed: UInt64) {
            self.headDim = headDim
            self.pagePositions = pagePositions
            count = (positions + pagePositions - 1) / pagePositions
            var rng = SyntheticRandom(seed: seed)
            pages = (0..<count).map { _ in
                let page = UnsafeMutableRawPointer.allocate(byteCount: 4 * pagePositions * headDim, alignment: 64)
                for i in 0..<(2 * pagePositions * headDim) {
                    page.storeBytes(of: Float16(rng.float(2)).bitPattern, toByteOffset: 2 * i, as: UInt16.self)
                }
                return page
            }
            table = .allocate(capacity: count)
            for (i, page) in pages.enumerated() { table[i] = UnsafePointer(page.assumingMemoryBound(to: UInt8.self)) }
        }

        deinit {
            pages.forEach { $0.deallocate() }
            table.deallocate()
        }

        var view: ck_kv_view {
            ck_kv_view(pages: UnsafePointer(table), pagePositions: Int32(pagePositions), headDim: Int32(headDim),
                       keyOffset: 0, valueOffset: 2 * pagePositions * headDim)
        }
    }

    static func same(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    }

    @Test(arguments: [16, 48, 64, 128])
    func scoresAndValuesMatchThePortableKernels(headDim: Int) {
        let length = 300
        let pages = Pages(positions: length, headDim: headDim, seed: UInt64(headDim))
        var rng = SyntheticRandom(seed: 5)
        for group in [1, 2, 3, 4, 5, 7, 9] {
            let q = (0..<(group * headDim)).map { _ in Float(Float16(rng.float(1))) }
            let stride = 304
            for range in [0..<1, 0..<16, 16..<17, 32..<95, 0..<length] {
                var results = [KernelSet: [Float]]()
                for kernels in KernelSet.simdSets + [.portable] {
                    var scores = [Float](repeating: 0, count: group * stride)
                    Attention.scores(q, group: group, kv: pages.view, range: range, scale: 0.125, scores: &scores,
                                     stride: stride, kernels: kernels)
                    results[kernels] = (0..<group).flatMap { a in range.map { scores[a * stride + $0] } }
                }
                for simd in KernelSet.simdSets {
                    #expect(results[simd] == results[.portable], "scores \(simd) hd=\(headDim) group=\(group) \(range)")
                }
            }
            // Probabilities of the whole length, then each chunk's weighted values.
            var scores = [Float](repeating: 0, count: group * stride)
            for i in scores.indices { scores[i] = rng.float(8) }
            for length in [1, 17, 256, 257, 300] {
                var outputs = [KernelSet: [Float]]()
                for kernels in KernelSet.simdSets + [.portable] {
                    var normalizers = [Float](repeating: 0, count: 2 * group)
                    Attention.normalizers(scores, stride: stride, group: group, length: length, into: &normalizers, kernels: kernels)
                    var all = normalizers
                    for c in 0..<Attention.chunkCount(length: length) {
                        var p = [Float](repeating: 0, count: group * Attention.chunk)
                        var out = [Float](repeating: 0, count: group * headDim)
                        Attention.chunkValues(scores, stride: stride, normalizers: normalizers, group: group, kv: pages.view,
                                              length: length, chunkIndex: c, probabilities: &p, out: &out, kernels: kernels)
                        all += p + out
                    }
                    outputs[kernels] = all
                }
                for simd in KernelSet.simdSets {
                    #expect(outputs[simd] == outputs[.portable], "values \(simd) hd=\(headDim) group=\(group) length=\(length)")
                }
            }
        }
    }

    /// Scores far below the maximum (exp underflows, subnormal and zero results), huge and
    /// non-finite ones, and inverse sums large enough that subnormal exponentials survive the
    /// rounding to half: the kernels' exp and softmax agree bit for bit (any NaN counting as NaN).
    @Test func softmaxOfExtremeScoresMatchesThePortableKernels() {
        let headDim = 16, stride = 272
        let pages = Pages(positions: 256, headDim: headDim, seed: 3)
        var rows: [[Float]] = []
        // A sweep from -110 to 95 (beyond both ends of exp's finite range) in steps that hit
        // every binade of the result.
        rows.append((0..<stride).map { Float(-110) + Float($0) * 0.7548 })
        rows.append((0..<stride).map { Float(-104) + Float($0) * 0.0632 })
        rows.append((0..<stride).map { -Float($0) * 0.3711 - 0.001 })
        // Densely where exp's result is subnormal with few bits (scaled by 2^127, every one of
        // them reaches the half): one rounding of j * 2^n, not two.
        rows += (0..<40).map { r in (0..<stride).map { Float(-104) + Float(r * stride + $0) * 0.001 } }
        var special: [Float] = [0, -0.0, 1, -1, .infinity, -.infinity, .nan, .greatestFiniteMagnitude,
                                -.greatestFiniteMagnitude, .leastNonzeroMagnitude, -87.33655, -87.33654, -103.97,
                                -103.98, 88.37, 88.38, 88.7, -88.7, 1e-30, -1e30]
        special += [Float](repeating: -50, count: stride - special.count)
        rows.append(special)
        let inverseSums: [Float] = [1, 0x1p100, 0x1p127, .greatestFiniteMagnitude, 1e-3]
        for row in rows {
            for maximum in [Float(0), 12.5, -.infinity, .nan] {
                for inverseSum in inverseSums {
                    var results = [KernelSet: [Float]]()
                    for kernels in KernelSet.simdSets + [.portable] {
                        var p = [Float](repeating: 0, count: Attention.chunk)
                        var out = [Float](repeating: 0, count: headDim)
                        Attention.chunkValues(row, stride: stride, normalizers: [maximum, inverseSum], group: 1, kv: pages.view,
                                              length: 251, chunkIndex: 0, probabilities: &p, out: &out, kernels: kernels)
                        results[kernels] = p + out
                    }
                    for simd in KernelSet.simdSets {
                        #expect(Self.same(results[simd]!, results[.portable]!), "\(simd) max=\(maximum) inverseSum=\(inverseSum)")
                    }
                }
            }
            for length in [1, 7, 16, 23, 251] {
                var results = [KernelSet: [Float]]()
                for kernels in KernelSet.simdSets + [.portable] {
                    var normalizers = [Float](repeating: 0, count: 2)
                    Attention.normalizers(row, stride: stride, group: 1, length: length, into: &normalizers, kernels: kernels)
                    results[kernels] = normalizers
                }
                for simd in KernelSet.simdSets {
                    // A NaN score makes every probability NaN whichever maximum the kernel kept.
                    let nan = row[..<length].contains { $0.isNaN }
                    #expect(nan ? results[simd]![1].isNaN && results[.portable]![1].isNaN
                                : Self.same(results[simd]!, results[.portable]!), "\(simd) normalizer length=\(length)")
                }
            }
        }
    }
}
