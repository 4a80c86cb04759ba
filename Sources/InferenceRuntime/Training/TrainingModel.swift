import CKernels
import Foundation

/// Teacher-forced forward and backward passes of a Llama model with a LoRA adapter: the training
/// counterpart of LlamaModel, in the same run.c shape (configuration, weights, run state sized
/// once per batch size, then `forward` and `backward`).
///
/// Everything is f32 and every product goes through OpenBLAS on dequantized base weights, so
/// `backward` is the exact derivative of `forward` (the inference pass quantizes activations to
/// int8 and rounds keys, values and probabilities to f16; those steps have no derivative).
/// Forward keeps each layer's input, queries, keys, values, attention output and mid-block
/// residual; backward recomputes the feed-forward's gate and up products and the attention
/// probabilities, so memory grows by 2.7 K floats per token and layer instead of 5.8 K.
final class TrainingModel: @unchecked Sendable {
    let config: LlamaConfig
    let weights: DenseLlamaWeights
    let pool: WorkerPool
    /// Most tokens in one batch.
    let maxTokens: Int

    /// Query rows per attention task.
    let queryBlock: Int
    /// Vocabulary rows of the output head per task.
    static let vocabularyChunk = 2048

    private let dim: Int, qDim: Int, kvDim: Int, hidden: Int, headDim: Int, heads: Int, group: Int
    private let vocabulary: Int, ropeDim: Int, layerCount: Int
    private let attentionScale: Float
    private let rotary: RotaryEmbedding

    /// The last forward's batch, adapter and log-probabilities: what `backward` differentiates.
    private var layout: TrainingLayout?
    private var adapter: LoRAAdapter?
    private var logprobs: [Float] = []
    /// Log-sum-exp of each head row's logits.
    private var headNormalizers: [Float] = []

    // Run state, sized by `reserve` for `capacity` tokens, `headCapacity` head rows, `keyCapacity`
    // keys per query row and adapters up to `rankCapacity`. T is the current batch's token count:
    // each per-layer block is [T, width] so the layers pack tightly.
    private var capacity = 0, headCapacity = 0, keyCapacity = 0, rankCapacity = 0
    private var inputs = AlignedBuffer(byteCount: 0)     // [layers + 1][T, dim] each layer's input; the last is the output
    private var queries = AlignedBuffer(byteCount: 0)    // [layers][T, qDim] after RoPE
    private var keys = AlignedBuffer(byteCount: 0)       // [layers][T, kvDim] after RoPE
    private var values = AlignedBuffer(byteCount: 0)     // [layers][T, kvDim]
    private var attended = AlignedBuffer(byteCount: 0)   // [layers][T, qDim] attention output
    private var middles = AlignedBuffer(byteCount: 0)    // [layers][T, dim] residual after attention
    private var normalizers = AlignedBuffer(byteCount: 0) // [layers][heads, T] log-sum-exp of each row's scores
    private var xb = AlignedBuffer(byteCount: 0)         // [T, dim] normalized input of a block
    private var gate = AlignedBuffer(byteCount: 0)       // [T, hidden] gate, in backward its gradient
    private var up = AlignedBuffer(byteCount: 0)         // [T, hidden] up, in backward its gradient
    private var activated = AlignedBuffer(byteCount: 0)  // [T, hidden] silu(gate) * up
    private var rope = AlignedBuffer(byteCount: 0)       // [T, ropeDim] cos, sin per rotated pair
    private var adapterInput = AlignedBuffer(byteCount: 0) // [T, rank] A · x of one projection
    private var adapterGradient = AlignedBuffer(byteCount: 0) // [T, rank] scale · dy · B
    private var dx = AlignedBuffer(byteCount: 0)         // [T, dim] gradient of the residual stream
    private var dxb = AlignedBuffer(byteCount: 0)        // [T, dim] gradient of a block's normalized input
    private var dActivated = AlignedBuffer(byteCount: 0) // [T, hidden]
    private var dAttended = AlignedBuffer(byteCount: 0)  // [T, qDim]
    private var dQueries = AlignedBuffer(byteCount: 0)   // [T, qDim]
    private var dKeys = AlignedBuffer(byteCount: 0)      // [T, kvDim]
    private var dValues = AlignedBuffer(byteCount: 0)    // [T, kvDim]
    private var headInput = AlignedBuffer(byteCount: 0)  // [H, dim] final-normalized head rows
    private var dHeadInput = AlignedBuffer(byteCount: 0) // [H, dim]
    // Per thread:
    private var scores: [AlignedBuffer] = []             // [group · queryBlock, keys] probabilities; [H, vocabularyChunk] logits
    private var dScores: [AlignedBuffer] = []            // [group · queryBlock, keys]
    private var stackedQueries: [AlignedBuffer] = []     // [group · queryBlock, headDim] a task's queries
    private var stackedOutputs: [AlignedBuffer] = []     // [group · queryBlock, headDim] its attention output, dQ
    private var stackedGradients: [AlignedBuffer] = []   // [group · queryBlock, headDim] its dO
    private var threadKeys: [AlignedBuffer] = []         // [T, kvDim] key gradients of the thread's tasks
    private var threadValues: [AlignedBuffer] = []       // [T, kvDim]
    private var threadHead: [AlignedBuffer] = []         // [H, dim] head-input gradients of the thread's chunks
    private var threadNormalizers: [AlignedBuffer] = []  // [H] log-sum-exp so far (double)
    private var rowLengths: [AlignedBuffer] = []         // [max(group · queryBlock, H)] int32 valid columns of each row
    private var rowScalars: [AlignedBuffer] = []         // [max(group · queryBlock, H)] a float per row

    init(config: LlamaConfig, weights: DenseLlamaWeights, pool: WorkerPool, maxTokens: Int = 4096, queryBlock: Int = 64) {
        self.config = config
        self.weights = weights
        self.pool = pool
        self.maxTokens = maxTokens
        self.queryBlock = queryBlock
        dim = config.embeddingLength
        headDim = config.headDimension
        heads = config.headCount
        qDim = heads * headDim
        kvDim = config.kvDimension
        hidden = config.feedForwardLength
        group = config.groupSize
        vocabulary = config.vocabularySize
        ropeDim = config.ropeDimensionCount
        layerCount = config.blockCount
        attentionScale = 1 / Float(headDim).squareRoot()
        rotary = RotaryEmbedding(config: config)
        BLAS.useCallingThreadOnly()
    }

    // MARK: Forward

    /// Runs `batch` with `adapter` (nil: the base model) and returns the log-probability of every
    /// continuation token, in (group, continuation, token) order. Keeps what `backward` needs.
    func forward(_ batch: TrainingBatch, adapter: LoRAAdapter?) throws(InferenceError) -> [Float] {
        try batch.validate(vocabularySize: vocabulary, contextLength: config.contextLength, maxTokens: maxTokens)
        if let adapter {
            do { try adapter.layout.validate(for: config) } catch { throw .adapterMismatch(error) }
        }
        let layout = TrainingLayout(batch, kvHeads: config.headCountKV, queryBlock: queryBlock)
        reserve(layout, rank: adapter?.layout.slots.map(\.rank).max() ?? 0)
        self.layout = layout
        self.adapter = adapter
        let n = layout.rowCount

        parallelRows(n) { rows in
            for t in rows {
                weights.tokenEmbedding.dequantizeRow(Int(layout.tokens[t]), into: inputs.floats() + t * dim)
                rotary.fill(position: layout.positions[t], into: rope.floats() + t * ropeDim)
            }
        }
        for l in 0..<layerCount {
            let layer = weights.layers[l]
            normalize(input(l), weight: layer.attentionNorm, rows: n, into: xb.floats())
            project(.query, layer: l, x: xb.floats(), rows: n, y: query(l), accumulate: false)
            project(.key, layer: l, x: xb.floats(), rows: n, y: key(l), accumulate: false)
            project(.value, layer: l, x: xb.floats(), rows: n, y: value(l), accumulate: false)
            parallelRows(n) { rows in
                for t in rows {
                    let table = UnsafePointer(rope.floats() + t * ropeDim)
                    rotary.rotate(query(l) + t * qDim, heads: heads, table: table)
                    rotary.rotate(key(l) + t * kvDim, heads: config.headCountKV, table: table)
                }
            }
            attentionForward(layer: l, layout)
            middle(l).update(from: input(l), count: n * dim)
            project(.output, layer: l, x: attention(l), rows: n, y: middle(l), accumulate: true)
            normalize(middle(l), weight: layer.feedForwardNorm, rows: n, into: xb.floats())
            feedForwardActivations(layer: l, rows: n)
            input(l + 1).update(from: middle(l), count: n * dim)
            project(.down, layer: l, x: activated.floats(), rows: n, y: input(l + 1), accumulate: true)
        }
        logprobs = headForward(layout)
        return logprobs
    }

    // MARK: Backward

    /// Adds to `gradients` the gradient of loss = Σᵢ weights[i] · logprob[i] over the last
    /// forward's predicted tokens, and returns that loss. Run it after `forward` with an adapter,
    /// without changing the adapter in between.
    func backward(weights lossWeights: [Float], into gradients: LoRAGradients) throws(InferenceError) -> Double {
        guard let layout, let adapter else {
            throw .invalidParameter(name: "backward", reason: "needs a forward pass with an adapter first")
        }
        guard lossWeights.count == layout.predictedCount else {
            throw .invalidParameter(name: "weights", reason: "\(lossWeights.count) given for \(layout.predictedCount) tokens")
        }
        guard gradients.layout == adapter.layout else {
            throw .invalidParameter(name: "gradients", reason: "their layout is not the adapter's")
        }
        let n = layout.rowCount
        var loss = 0.0
        for i in 0..<layout.predictedCount { loss += Double(lossWeights[i]) * Double(logprobs[i]) }

        headBackward(layout, lossWeights)
        for l in (0..<layerCount).reversed() {
            let layer = weights.layers[l]
            // Feed-forward block, its activations recomputed.
            normalize(middle(l), weight: layer.feedForwardNorm, rows: n, into: xb.floats())
            feedForwardActivations(layer: l, rows: n)
            projectBackward(.down, layer: l, x: activated.floats(), dy: dx.floats(), rows: n, dx: dActivated.floats(),
                            accumulate: false, gradients: gradients)
            parallelRows(n) { rows in
                let offset = rows.lowerBound * hidden
                ck_train_swiglu_backward(gate.floats() + offset, up.floats() + offset, dActivated.floats() + offset,
                                         Int32(rows.count * hidden))
            }
            projectBackward(.gate, layer: l, x: xb.floats(), dy: gate.floats(), rows: n, dx: dxb.floats(),
                            accumulate: false, gradients: gradients)
            projectBackward(.up, layer: l, x: xb.floats(), dy: up.floats(), rows: n, dx: dxb.floats(),
                            accumulate: true, gradients: gradients)
            normalizeBackward(middle(l), weight: layer.feedForwardNorm, dy: dxb.floats(), rows: n, into: dx.floats())

            // Attention block.
            projectBackward(.output, layer: l, x: attention(l), dy: dx.floats(), rows: n, dx: dAttended.floats(),
                            accumulate: false, gradients: gradients)
            attentionBackward(layer: l, layout)
            parallelRows(n) { rows in
                for t in rows {
                    let table = UnsafePointer(rope.floats() + t * ropeDim)
                    rotary.rotateBack(dQueries.floats() + t * qDim, heads: heads, table: table)
                    rotary.rotateBack(dKeys.floats() + t * kvDim, heads: config.headCountKV, table: table)
                }
            }
            normalize(input(l), weight: layer.attentionNorm, rows: n, into: xb.floats())
            projectBackward(.query, layer: l, x: xb.floats(), dy: dQueries.floats(), rows: n, dx: dxb.floats(),
                            accumulate: false, gradients: gradients)
            projectBackward(.key, layer: l, x: xb.floats(), dy: dKeys.floats(), rows: n, dx: dxb.floats(),
                            accumulate: true, gradients: gradients)
            projectBackward(.value, layer: l, x: xb.floats(), dy: dValues.floats(), rows: n, dx: dxb.floats(),
                            accumulate: true, gradients: gradients)
            normalizeBackward(input(l), weight: layer.attentionNorm, dy: dxb.floats(), rows: n, into: dx.floats())
        }
        return loss
    }

    // MARK: Blocks

    private func input(_ l: Int) -> UnsafeMutablePointer<Float> { inputs.floats() + l * currentRows * dim }
    private func query(_ l: Int) -> UnsafeMutablePointer<Float> { queries.floats() + l * currentRows * qDim }
    private func key(_ l: Int) -> UnsafeMutablePointer<Float> { keys.floats() + l * currentRows * kvDim }
    private func value(_ l: Int) -> UnsafeMutablePointer<Float> { values.floats() + l * currentRows * kvDim }
    private func attention(_ l: Int) -> UnsafeMutablePointer<Float> { attended.floats() + l * currentRows * qDim }
    private func middle(_ l: Int) -> UnsafeMutablePointer<Float> { middles.floats() + l * currentRows * dim }
    private func normalizer(_ l: Int) -> UnsafeMutablePointer<Float> { normalizers.floats() + l * heads * currentRows }
    private var currentRows: Int { layout?.rowCount ?? 0 }

    /// gate, up (with the adapter) and activated = silu(gate) * up, from xb.
    private func feedForwardActivations(layer l: Int, rows n: Int) {
        project(.gate, layer: l, x: xb.floats(), rows: n, y: gate.floats(), accumulate: false)
        project(.up, layer: l, x: xb.floats(), rows: n, y: up.floats(), accumulate: false)
        parallelRows(n) { rows in
            let offset = rows.lowerBound * hidden
            ck_train_swiglu(gate.floats() + offset, up.floats() + offset, activated.floats() + offset, Int32(rows.count * hidden))
        }
    }

    /// y = x · Wᵀ + scale · (x · Aᵀ) · Bᵀ for `rows` rows (y += with `accumulate`), rows split over
    /// the threads.
    private func project(_ p: LoRAProjection, layer l: Int, x: UnsafePointer<Float>, rows n: Int,
                         y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let inputs = p.inputs(config), outputs = p.outputs(config)
        let w = weights.matrix(l, p)
        let slot = adapter?.layout.slot(layer: l, projection: p)
        parallelRows(n) { rows in
            let xr = x + rows.lowerBound * inputs, yr = y + rows.lowerBound * outputs
            BLAS.gemm(m: rows.count, n: outputs, k: inputs, a: xr, lda: inputs, b: w, ldb: inputs, transposeB: true,
                      beta: accumulate ? 1 : 0, c: yr, ldc: outputs)
            if let slot, let adapter {
                let t = adapterInput.floats() + rows.lowerBound * slot.rank
                BLAS.gemm(m: rows.count, n: slot.rank, k: inputs, a: xr, lda: inputs, b: adapter.a(slot), ldb: inputs,
                          transposeB: true, c: t, ldc: slot.rank)
                BLAS.gemm(m: rows.count, n: outputs, k: slot.rank, alpha: adapter.scale(slot), a: t, lda: slot.rank,
                          b: adapter.b(slot), ldb: slot.rank, transposeB: true, beta: 1, c: yr, ldc: outputs)
            }
        }
    }

    /// From dy, the gradient of `project`'s output: dx = dy · W + (scale · dy · B) · A (dx += with
    /// `accumulate`), and the adapter's gradients dB += scale · dyᵀ · (x · Aᵀ), dA += (scale · dy · B)ᵀ · x.
    private func projectBackward(_ p: LoRAProjection, layer l: Int, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                 rows n: Int, dx: UnsafeMutablePointer<Float>, accumulate: Bool, gradients: LoRAGradients) {
        let inputs = p.inputs(config), outputs = p.outputs(config)
        let w = weights.matrix(l, p)
        let slot = adapter?.layout.slot(layer: l, projection: p)
        parallelRows(n) { rows in
            let xr = x + rows.lowerBound * inputs, dyr = dy + rows.lowerBound * outputs, dxr = dx + rows.lowerBound * inputs
            BLAS.gemm(m: rows.count, n: inputs, k: outputs, a: dyr, lda: outputs, b: w, ldb: inputs,
                      beta: accumulate ? 1 : 0, c: dxr, ldc: inputs)
            if let slot, let adapter {
                let t = adapterInput.floats() + rows.lowerBound * slot.rank
                let dt = adapterGradient.floats() + rows.lowerBound * slot.rank
                BLAS.gemm(m: rows.count, n: slot.rank, k: inputs, a: xr, lda: inputs, b: adapter.a(slot), ldb: inputs,
                          transposeB: true, c: t, ldc: slot.rank)
                BLAS.gemm(m: rows.count, n: slot.rank, k: outputs, alpha: adapter.scale(slot), a: dyr, lda: outputs,
                          b: adapter.b(slot), ldb: slot.rank, c: dt, ldc: slot.rank)
                BLAS.gemm(m: rows.count, n: inputs, k: slot.rank, a: dt, lda: slot.rank, b: adapter.a(slot), ldb: inputs,
                          beta: 1, c: dxr, ldc: inputs)
            }
        }
        guard let slot, let adapter else { return }
        // Sums over all rows: each thread takes a slice of dB's rows or of dA's columns.
        let parts = pool.threadCount
        let scale = adapter.scale(slot)
        pool.run(chunks: 2 * parts) { _, c in
            if c < parts {
                let slice = WorkerPool.part(c, of: parts, count: outputs)
                guard !slice.isEmpty else { return }
                BLAS.gemm(m: slice.count, n: slot.rank, k: n, alpha: scale, a: dy + slice.lowerBound, lda: outputs,
                          transposeA: true, b: adapterInput.floats(), ldb: slot.rank, beta: 1,
                          c: gradients.b(slot) + slice.lowerBound * slot.rank, ldc: slot.rank)
            } else {
                let slice = WorkerPool.part(c - parts, of: parts, count: inputs)
                guard !slice.isEmpty else { return }
                BLAS.gemm(m: slot.rank, n: slice.count, k: n, a: adapterGradient.floats(), lda: slot.rank, transposeA: true,
                          b: x + slice.lowerBound, ldb: inputs, beta: 1, c: gradients.a(slot) + slice.lowerBound, ldc: inputs)
            }
        }
    }

    /// y = rmsnorm(x) * weight for every row.
    private func normalize(_ x: UnsafePointer<Float>, weight: [Float], rows n: Int, into y: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { w in
            parallelRows(n) { rows in
                for t in rows {
                    Elementwise.rmsNorm(x + t * dim, weight: w.baseAddress!, epsilon: config.rmsEpsilon, y + t * dim, count: dim)
                }
            }
        }
    }

    /// dx += the gradient through y = rmsnorm(x) * weight, given dy, for every row.
    private func normalizeBackward(_ x: UnsafePointer<Float>, weight: [Float], dy: UnsafePointer<Float>, rows n: Int,
                                   into dx: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { w in
            parallelRows(n) { rows in
                for t in rows {
                    TrainingKernels.rmsNormBackward(x + t * dim, weight: w.baseAddress!, epsilon: config.rmsEpsilon,
                                                    dy: dy + t * dim, dx: dx + t * dim, count: dim)
                }
            }
        }
    }

    // MARK: Attention
    //
    // A task is a block of query rows of one segment for the `group` query heads that share one
    // KV head, stacked into one matrix ([group · rows, headDim], head by head) so each product
    // is `group` times taller. Its keys are its group's prompt (for a continuation), then its own
    // segment's rows up to the block's last.

    private struct TaskShape {
        let firstRow: Int       // the task's first query row
        let rows: Int
        let parentRow: Int      // first row of the prompt a continuation attends to
        let parentKeys: Int
        let ownRow: Int         // first row of the task's segment
        let ownKeys: Int
        var keys: Int { parentKeys + ownKeys }
    }

    private func shape(_ task: TrainingLayout.AttentionTask, _ layout: TrainingLayout) -> TaskShape {
        let segment = layout.segments[task.segment]
        let parent = segment.parent.map { layout.segments[$0] }
        return TaskShape(firstRow: segment.firstRow + task.rows.lowerBound, rows: task.rows.count,
                         parentRow: parent?.firstRow ?? 0, parentKeys: parent?.count ?? 0,
                         ownRow: segment.firstRow, ownKeys: task.rows.upperBound)
    }

    /// Copies the task's rows of the group's heads from `source` ([T, qDim]) into `stacked`, or
    /// back with `scatter`.
    private func stack(_ source: UnsafeMutablePointer<Float>, _ stacked: UnsafeMutablePointer<Float>, _ s: TaskShape,
                       kvHead: Int, scatter: Bool = false) {
        for a in 0..<group {
            for i in 0..<s.rows {
                let row = source + (s.firstRow + i) * qDim + (kvHead * group + a) * headDim
                let packed = stacked + (a * s.rows + i) * headDim
                if scatter { row.update(from: packed, count: headDim) } else { packed.update(from: row, count: headDim) }
            }
        }
    }

    /// p = softmax(scale · q · Kᵀ) over the task's keys for the stacked queries `q`, causal (columns
    /// past a row's position are zero): [group · rows, keys]. Forward stores each row's log-sum-exp;
    /// backward (`recompute`) reads it back.
    private func probabilities(_ task: TrainingLayout.AttentionTask, _ s: TaskShape, q: UnsafePointer<Float>, layer l: Int,
                               thread: Int, recompute: Bool) -> UnsafeMutablePointer<Float> {
        let p = scores[thread].floats()
        let m = group * s.rows
        let k = key(l) + task.kvHead * headDim
        BLAS.gemm(m: m, n: s.parentKeys, k: headDim, alpha: attentionScale, a: q, lda: headDim,
                  b: k + s.parentRow * kvDim, ldb: kvDim, transposeB: true, c: p, ldc: s.keys)
        BLAS.gemm(m: m, n: s.ownKeys, k: headDim, alpha: attentionScale, a: q, lda: headDim,
                  b: k + s.ownRow * kvDim, ldb: kvDim, transposeB: true, c: p + s.parentKeys, ldc: s.keys)
        let lengths = rowLengths[thread].pointer.assumingMemoryBound(to: Int32.self)
        let firstOwn = s.firstRow - s.ownRow
        for i in 0..<s.rows { lengths[i] = Int32(s.parentKeys + firstOwn + i + 1) }
        for a in 0..<group {
            let rows = p + a * s.rows * s.keys
            let lse = normalizer(l) + (task.kvHead * group + a) * currentRows + s.firstRow
            if recompute {
                ck_train_softmax_recompute(rows, s.keys, Int32(s.rows), lengths, Int32(s.keys), lse)
            } else {
                ck_train_softmax(rows, s.keys, Int32(s.rows), lengths, Int32(s.keys), lse)
            }
        }
        return p
    }

    /// out = pᵀ-weighted values: out[m, headDim] = p[:, parent] · V_parent + p[:, own] · V_own.
    private func weightedKeys(_ p: UnsafePointer<Float>, _ s: TaskShape, matrix: UnsafePointer<Float>,
                              out: UnsafeMutablePointer<Float>) {
        let m = group * s.rows
        BLAS.gemm(m: m, n: headDim, k: s.parentKeys, a: p, lda: s.keys, b: matrix + s.parentRow * kvDim, ldb: kvDim,
                  c: out, ldc: headDim)
        BLAS.gemm(m: m, n: headDim, k: s.ownKeys, a: p + s.parentKeys, lda: s.keys, b: matrix + s.ownRow * kvDim, ldb: kvDim,
                  beta: s.parentKeys > 0 ? 1 : 0, c: out, ldc: headDim)
    }

    private func attentionForward(layer l: Int, _ layout: TrainingLayout) {
        forEachTask(layout) { thread, task in
            let s = shape(task, layout)
            let (q, out) = (stackedQueries[thread].floats(), stackedOutputs[thread].floats())
            stack(query(l), q, s, kvHead: task.kvHead)
            let p = probabilities(task, s, q: q, layer: l, thread: thread, recompute: false)
            weightedKeys(p, s, matrix: value(l) + task.kvHead * headDim, out: out)
            stack(attention(l), out, s, kvHead: task.kvHead, scatter: true)
        }
    }

    /// dQueries, dKeys and dValues from dAttended. Each task writes its own query rows; key and
    /// value gradients (a prompt's gather every continuation's) go to the slot's own buffers,
    /// added together in slot order at the end.
    private func attentionBackward(layer l: Int, _ layout: TrainingLayout) {
        let n = layout.rowCount
        for thread in 0..<pool.threadCount {
            threadKeys[thread].floats().update(repeating: 0, count: n * kvDim)
            threadValues[thread].floats().update(repeating: 0, count: n * kvDim)
        }
        forEachTask(layout) { thread, task in
            let s = shape(task, layout)
            let m = group * s.rows
            let (q, out) = (stackedQueries[thread].floats(), stackedOutputs[thread].floats())
            let dOut = stackedGradients[thread].floats()
            stack(query(l), q, s, kvHead: task.kvHead)
            stack(attention(l), out, s, kvHead: task.kvHead)
            stack(dAttended.floats(), dOut, s, kvHead: task.kvHead)
            let p = probabilities(task, s, q: q, layer: l, thread: thread, recompute: true)
            let column = task.kvHead * headDim
            let k = key(l) + column, v = value(l) + column
            // d[i] = dO_i · O_i, the softmax's correction term.
            let d = rowScalars[thread].floats()
            for i in 0..<m {
                var sum: Float = 0
                for j in 0..<headDim { sum += dOut[i * headDim + j] * out[i * headDim + j] }
                d[i] = sum
            }
            let dp = dScores[thread].floats()
            BLAS.gemm(m: m, n: s.parentKeys, k: headDim, a: dOut, lda: headDim, b: v + s.parentRow * kvDim, ldb: kvDim,
                      transposeB: true, c: dp, ldc: s.keys)
            BLAS.gemm(m: m, n: s.ownKeys, k: headDim, a: dOut, lda: headDim, b: v + s.ownRow * kvDim, ldb: kvDim,
                      transposeB: true, c: dp + s.parentKeys, ldc: s.keys)
            ck_train_softmax_backward(dp, p, s.keys, Int32(m), Int32(s.keys), d, attentionScale)
            // dQ = dS · K, through `out`, which is no longer needed.
            weightedKeys(dp, s, matrix: k, out: out)
            stack(dQueries.floats(), out, s, kvHead: task.kvHead, scatter: true)
            let dk = threadKeys[thread].floats() + column, dv = threadValues[thread].floats() + column
            for (offset, keyRow, count) in [(0, s.parentRow, s.parentKeys), (s.parentKeys, s.ownRow, s.ownKeys)] where count > 0 {
                BLAS.gemm(m: count, n: headDim, k: m, a: dp + offset, lda: s.keys, transposeA: true, b: q, ldb: headDim,
                          beta: 1, c: dk + keyRow * kvDim, ldc: kvDim)
                BLAS.gemm(m: count, n: headDim, k: m, a: p + offset, lda: s.keys, transposeA: true, b: dOut, ldb: headDim,
                          beta: 1, c: dv + keyRow * kvDim, ldc: kvDim)
            }
        }
        parallelRows(n) { rows in
            let range = (rows.lowerBound * kvDim)..<(rows.upperBound * kvDim)
            for i in range {
                var k: Float = 0, v: Float = 0
                for thread in 0..<pool.threadCount {
                    k += threadKeys[thread].floats()[i]
                    v += threadValues[thread].floats()[i]
                }
                dKeys.floats()[i] = k
                dValues.floats()[i] = v
            }
        }
    }

    private func forEachTask(_ layout: TrainingLayout, _ body: (Int, TrainingLayout.AttentionTask) -> Void) {
        forEachStatically(layout.tasks.count) { slot, index in body(slot, layout.tasks[index]) }
    }

    /// `body(slot, index)` for every index in 0..<count, index i always in slot i % threadCount
    /// (one chunk per slot, so a slot's buffers are used by one thread at a time). What a slot
    /// accumulates is then the same whichever thread ran it: the pool hands chunks to threads as
    /// they come free, and sums gathered per thread would change with that order (and a resumed
    /// training run would not reach the same bits).
    private func forEachStatically(_ count: Int, _ body: (Int, Int) -> Void) {
        let slots = pool.threadCount
        pool.run(chunks: min(slots, max(count, 1))) { _, slot in
            for index in stride(from: slot, to: count, by: slots) { body(slot, index) }
        }
    }

    // MARK: Output head

    private var vocabularyChunks: Int { (vocabulary + Self.vocabularyChunk - 1) / Self.vocabularyChunk }

    /// Logits of vocabulary chunk `c` for every head row into the thread's scores: [H, chunk width].
    private func headLogits(chunk c: Int, rows h: Int, thread: Int) -> (logits: UnsafeMutablePointer<Float>, range: Range<Int>) {
        let range = (c * Self.vocabularyChunk)..<min(vocabulary, (c + 1) * Self.vocabularyChunk)
        let logits = scores[thread].floats()
        BLAS.gemm(m: h, n: range.count, k: dim, a: headInput.floats(), lda: dim,
                  b: UnsafePointer(weights.output.floats()) + range.lowerBound * dim, ldb: dim, transposeB: true,
                  c: logits, ldc: range.count)
        let lengths = rowLengths[thread].pointer.assumingMemoryBound(to: Int32.self)
        for i in 0..<h { lengths[i] = Int32(range.count) }
        return (logits, range)
    }

    /// Log-probabilities of every target: the final norm of each head row, its logits chunk by
    /// chunk (log-sum-exp gathered per thread, then across threads), the target's own logit.
    private func headForward(_ layout: TrainingLayout) -> [Float] {
        let h = layout.headRows.count
        let outputNorm = weights.outputNorm
        outputNorm.withUnsafeBufferPointer { w in
            for (i, row) in layout.headRows.enumerated() {
                Elementwise.rmsNorm(input(layerCount) + row * dim, weight: w.baseAddress!, epsilon: config.rmsEpsilon,
                                    headInput.floats() + i * dim, count: dim)
            }
        }
        for thread in 0..<pool.threadCount {
            let running = threadNormalizers[thread].pointer.assumingMemoryBound(to: Double.self)
            running.update(repeating: -.infinity, count: h)
        }
        forEachStatically(vocabularyChunks) { thread, c in
            let (logits, range) = headLogits(chunk: c, rows: h, thread: thread)
            let lengths = rowLengths[thread].pointer.assumingMemoryBound(to: Int32.self)
            let chunkNormalizers = rowScalars[thread].floats()
            ck_train_softmax(logits, range.count, Int32(h), lengths, Int32(range.count), chunkNormalizers)
            let running = threadNormalizers[thread].pointer.assumingMemoryBound(to: Double.self)
            for i in 0..<h { running[i] = TrainingKernels.logAddExp(running[i], Double(chunkNormalizers[i])) }
        }
        headNormalizers = (0..<h).map { i in
            var total = -Double.infinity
            for thread in 0..<pool.threadCount {
                total = TrainingKernels.logAddExp(total, threadNormalizers[thread].pointer.assumingMemoryBound(to: Double.self)[i])
            }
            return Float(total)
        }
        var result = [Float](repeating: 0, count: layout.predictedCount)
        for (i, targets) in layout.targets.enumerated() {
            for target in targets {
                let embedding = UnsafePointer(weights.output.floats()) + Int(target.token) * dim
                var logit: Float = 0
                for j in 0..<dim { logit += headInput.floats()[i * dim + j] * embedding[j] }
                result[target.index] = logit - headNormalizers[i]
            }
        }
        return result
    }

    /// dx = 0 except at head rows, where it is the gradient through the final norm of
    /// Σ targets w · (onehot(target) − softmax) · E.
    private func headBackward(_ layout: TrainingLayout, _ lossWeights: [Float]) {
        let h = layout.headRows.count, n = layout.rowCount
        let rowWeights = layout.targets.map { $0.reduce(Float(0)) { $0 + lossWeights[$1.index] } }
        for thread in 0..<pool.threadCount { threadHead[thread].floats().update(repeating: 0, count: h * dim) }
        headNormalizers.withUnsafeBufferPointer { lse in
            forEachStatically(vocabularyChunks) { thread, c in
                let (logits, range) = headLogits(chunk: c, rows: h, thread: thread)
                let lengths = rowLengths[thread].pointer.assumingMemoryBound(to: Int32.self)
                ck_train_softmax_recompute(logits, range.count, Int32(h), lengths, Int32(range.count), lse.baseAddress!)
                for i in 0..<h {
                    let row = logits + i * range.count, factor = -rowWeights[i]
                    for j in 0..<range.count { row[j] *= factor }
                }
                BLAS.gemm(m: h, n: dim, k: range.count, a: logits, lda: range.count,
                          b: UnsafePointer(weights.output.floats()) + range.lowerBound * dim, ldb: dim, beta: 1,
                          c: threadHead[thread].floats(), ldc: dim)
            }
        }
        let dHead = dHeadInput.floats()
        for i in 0..<(h * dim) {
            var sum: Float = 0
            for thread in 0..<pool.threadCount { sum += threadHead[thread].floats()[i] }
            dHead[i] = sum
        }
        for (i, targets) in layout.targets.enumerated() {
            for target in targets {
                let embedding = UnsafePointer(weights.output.floats()) + Int(target.token) * dim
                let w = lossWeights[target.index]
                for j in 0..<dim { dHead[i * dim + j] += w * embedding[j] }
            }
        }
        dx.floats().update(repeating: 0, count: n * dim)
        weights.outputNorm.withUnsafeBufferPointer { w in
            for (i, row) in layout.headRows.enumerated() {
                TrainingKernels.rmsNormBackward(input(layerCount) + row * dim, weight: w.baseAddress!, epsilon: config.rmsEpsilon,
                                                dy: dHead + i * dim, dx: dx.floats() + row * dim, count: dim)
            }
        }
    }

    // MARK: Work and memory

    /// Runs `body` on slices of 0..<n rows, one per thread.
    private func parallelRows(_ n: Int, _ body: (Range<Int>) -> Void) {
        let chunks = max(1, min(pool.threadCount, n))
        pool.run(chunks: chunks) { _, c in
            let rows = WorkerPool.part(c, of: chunks, count: n)
            if !rows.isEmpty { body(rows) }
        }
    }

    /// Grows the run state to hold `layout` (never shrinks: a trainer sees batches of similar size).
    private func reserve(_ layout: TrainingLayout, rank: Int) {
        let t = layout.rowCount, h = layout.headRows.count
        func perThread(_ floats: Int) -> [AlignedBuffer] { (0..<pool.threadCount).map { _ in AlignedBuffer(byteCount: 4 * floats) } }
        let grew = t > capacity
        if grew {
            capacity = t
            func floats(_ count: Int) -> AlignedBuffer { AlignedBuffer(byteCount: 4 * count) }
            inputs = floats((layerCount + 1) * t * dim)
            queries = floats(layerCount * t * qDim)
            keys = floats(layerCount * t * kvDim)
            values = floats(layerCount * t * kvDim)
            attended = floats(layerCount * t * qDim)
            middles = floats(layerCount * t * dim)
            normalizers = floats(layerCount * heads * t)
            xb = floats(t * dim)
            gate = floats(t * hidden)
            up = floats(t * hidden)
            activated = floats(t * hidden)
            rope = floats(t * ropeDim)
            dx = floats(t * dim)
            dxb = floats(t * dim)
            dActivated = floats(t * hidden)
            dAttended = floats(t * qDim)
            dQueries = floats(t * qDim)
            dKeys = floats(t * kvDim)
            dValues = floats(t * kvDim)
            threadKeys = perThread(t * kvDim)
            threadValues = perThread(t * kvDim)
        }
        if grew || rank > rankCapacity {
            rankCapacity = max(rank, rankCapacity)
            adapterInput = AlignedBuffer(byteCount: 4 * capacity * rankCapacity)
            adapterGradient = AlignedBuffer(byteCount: 4 * capacity * rankCapacity)
        }
        if h > headCapacity || layout.maxKeys > keyCapacity || scores.isEmpty {
            headCapacity = max(h, headCapacity)
            keyCapacity = max(layout.maxKeys, keyCapacity)
            let rows = max(group * queryBlock, headCapacity)
            let size = max(group * queryBlock * keyCapacity, headCapacity * Self.vocabularyChunk)
            headInput = AlignedBuffer(byteCount: 4 * headCapacity * dim)
            dHeadInput = AlignedBuffer(byteCount: 4 * headCapacity * dim)
            scores = perThread(size)
            dScores = perThread(group * queryBlock * keyCapacity)
            stackedQueries = perThread(group * queryBlock * headDim)
            stackedOutputs = perThread(group * queryBlock * headDim)
            stackedGradients = perThread(group * queryBlock * headDim)
            threadHead = perThread(headCapacity * dim)
            threadNormalizers = perThread(2 * headCapacity)
            rowLengths = perThread(rows)
            rowScalars = perThread(rows)
        }
    }
}
