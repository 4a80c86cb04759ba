import CKernels

/// Causal attention of one token's query heads (a group sharing one KV head) against a sequence's
/// cached keys and values, with llama.cpp's precision: scaled scores, softmax over all positions
/// up to the token's, probabilities rounded to half, then the weighted sum of values.
///
/// The value sum runs in chunks of CK_ATTENTION_CHUNK positions from position 0, added in chunk
/// order; chunks depend only on the position, so a token gives the same bits in a batch, alone,
/// or with its chunks spread over threads.
enum Attention {
    static let chunk = Int(CK_ATTENTION_CHUNK)

    /// Chunks covering positions 0..<length.
    static func chunkCount(length: Int) -> Int { (length + chunk - 1) / chunk }

    static func chunkRange(_ index: Int, length: Int) -> Range<Int> {
        (index * chunk)..<min(length, (index + 1) * chunk)
    }

    /// scores[a * stride + j] for positions j in `range` (range.lowerBound a multiple of 16).
    static func scores(_ q: UnsafePointer<Float>, group: Int, kv: ck_kv_view, range: Range<Int>, scale: Float,
                       scores: UnsafeMutablePointer<Float>, stride: Int, kernels: KernelSet) {
        var view = kv
        switch kernels {
        case .avx512:
            ck_attention_scores_avx512(q, Int32(group), &view, Int32(range.lowerBound), Int32(range.upperBound), scale, scores, stride)
        case .avx2:
            ck_attention_scores_avx2(q, Int32(group), &view, Int32(range.lowerBound), Int32(range.upperBound), scale, scores, stride)
        case .portable:
            ReferenceKernels.attentionScores(q, group: group, kv: kv, start: range.lowerBound, end: range.upperBound,
                                             scale: scale, scores: scores, stride: stride)
        }
    }

    /// Softmax normalizer (maximum, 1 / sum of exponentials) of each head's scores over 0..<length:
    /// normalizers[2a], normalizers[2a + 1].
    static func normalizers(_ scores: UnsafePointer<Float>, stride: Int, group: Int, length: Int,
                            into normalizers: UnsafeMutablePointer<Float>, kernels: KernelSet) {
        for a in 0..<group {
            switch kernels {
            case .avx512:
                ck_softmax_normalizer_avx512(scores + a * stride, Int32(length), normalizers + 2 * a, normalizers + 2 * a + 1)
            case .avx2:
                ck_softmax_normalizer_avx2(scores + a * stride, Int32(length), normalizers + 2 * a, normalizers + 2 * a + 1)
            case .portable:
                (normalizers[2 * a], normalizers[2 * a + 1]) = ReferenceKernels.softmaxNormalizer(scores + a * stride, length: length)
            }
        }
    }

    /// out[group, headDim] = the weighted values of chunk `index` of positions 0..<length.
    static func chunkValues(_ scores: UnsafePointer<Float>, stride: Int, normalizers: UnsafePointer<Float>, group: Int,
                            kv: ck_kv_view, length: Int, chunkIndex: Int, probabilities p: UnsafeMutablePointer<Float>,
                            out: UnsafeMutablePointer<Float>, kernels: KernelSet) {
        let range = chunkRange(chunkIndex, length: length)
        var view = kv
        for a in 0..<group {
            let s = scores + a * stride
            switch kernels {
            case .avx512:
                ck_softmax_probabilities_avx512(s, normalizers[2 * a], normalizers[2 * a + 1], Int32(range.lowerBound),
                                                Int32(range.upperBound), p + a * chunk)
            case .avx2:
                ck_softmax_probabilities_avx2(s, normalizers[2 * a], normalizers[2 * a + 1], Int32(range.lowerBound),
                                              Int32(range.upperBound), p + a * chunk)
            case .portable:
                ReferenceKernels.softmaxProbabilities(s, maximum: normalizers[2 * a], inverseSum: normalizers[2 * a + 1],
                                                      start: range.lowerBound, end: range.upperBound, p: p + a * chunk)
            }
        }
        switch kernels {
        case .avx512:
            ck_attention_values_avx512(p, chunk, Int32(group), &view, Int32(range.lowerBound), Int32(range.upperBound), out)
        case .avx2:
            ck_attention_values_avx2(p, chunk, Int32(group), &view, Int32(range.lowerBound), Int32(range.upperBound), out)
        case .portable:
            ReferenceKernels.attentionValues(p, pStride: chunk, group: group, kv: kv, start: range.lowerBound,
                                             end: range.upperBound, out: out)
        }
    }

    /// The whole attention of one token's group on one thread: out[group, headDim].
    /// Scratch: scores [group, stride >= length rounded up to 16], normalizers [2 * group],
    /// probabilities [group, chunk], partial [group, headDim].
    static func attend(_ q: UnsafePointer<Float>, group: Int, kv: ck_kv_view, length: Int, scale: Float,
                       scores: UnsafeMutablePointer<Float>, stride: Int, normalizers: UnsafeMutablePointer<Float>,
                       probabilities: UnsafeMutablePointer<Float>, partial: UnsafeMutablePointer<Float>,
                       out: UnsafeMutablePointer<Float>, kernels: KernelSet) {
        let width = group * Int(kv.headDim)
        Attention.scores(q, group: group, kv: kv, range: 0..<length, scale: scale, scores: scores, stride: stride, kernels: kernels)
        Attention.normalizers(scores, stride: stride, group: group, length: length, into: normalizers, kernels: kernels)
        out.update(repeating: 0, count: width)
        for c in 0..<chunkCount(length: length) {
            chunkValues(scores, stride: stride, normalizers: normalizers, group: group, kv: kv, length: length, chunkIndex: c,
                        probabilities: probabilities, out: partial, kernels: kernels)
            for i in 0..<width { out[i] += partial[i] }
        }
    }
}
