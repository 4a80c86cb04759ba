import CKernels
import Foundation

/// The Llama forward pass, in the shape of llama2.c's run.c: configuration, weights, run state
/// allocated once, and `forward`, which allocates nothing.
///
/// One entry point serves decode (one token per sequence), batched decode (one token for each
/// of several sequences) and prefill or teacher-forced scoring (many tokens per sequence): every
/// matrix product takes all the batch's rows at once, so weights are read once per pass. Each
/// number is computed by the same sequence of operations whatever the batch and thread count,
/// so prefill and token-by-token decode give the same logits bit for bit. Tokens may run with a
/// LoRA adapter each (`TokenBatch.append(..., adapter:)`), whose deltas follow each projection.
final class LlamaModel: @unchecked Sendable {
    let config: LlamaConfig
    let weights: LlamaWeights
    let kernels: KernelSet
    let pool: WorkerPool
    /// Most tokens in one forward pass.
    let maxBatch: Int
    /// Rows of logits computed together.
    let logitRows = 16
    /// Row-wise steps (norms, quantization, rotation) on fewer tokens than this run on the calling
    /// thread: for a decode batch, a pool job costs more than the work it would spread.
    private static let inlineRows = 16

    private let dim: Int, qDim: Int, kvDim: Int, hidden: Int, headDim: Int, group: Int, vocabulary: Int
    private let ropeDim: Int
    private let rotary: RotaryEmbedding
    private let attentionScale: Float
    private let maxChunks: Int
    /// Floats per head in a scores buffer: the context rounded up to whole tiles of 16.
    private let scoreStride: Int

    // Run state. Shapes are [rows, columns] of floats unless noted.
    private let x: AlignedBuffer          // [maxBatch, dim] residual stream
    private let xb: AlignedBuffer         // [maxBatch, dim] normalized input of a block
    private let q: AlignedBuffer          // [maxBatch, qDim] queries
    private let keyValue: AlignedBuffer   // [maxBatch, 2 * kvDim] new keys, then values
    private let keyValueHalf: AlignedBuffer // [maxBatch, 2 * kvDim] the same as f16 (UInt16)
    private let att: AlignedBuffer        // [maxBatch, qDim] attention output
    private let gate: AlignedBuffer       // [maxBatch, hidden] gate, then silu(gate) * up
    private let up: AlignedBuffer         // [maxBatch, hidden]
    private let rope: AlignedBuffer       // [maxBatch, ropeDim] cos, sin per rotated pair
    private let xq: QuantizedActivations  // xb as int8 blocks (maxBatch rows)
    private let attq: QuantizedActivations // att as int8 blocks
    private let hq: QuantizedActivations  // silu(gate) * up as int8 blocks
    private let headInput: AlignedBuffer  // [logitRows, dim] final-normalized rows needing logits
    private let headq: QuantizedActivations // headInput as int8 blocks
    private let logits: AlignedBuffer     // [logitRows, vocabulary]
    private let splitScores: AlignedBuffer // [2 * threads, group, scoreStride] scores of few tokens' heads
    private let splitPartials: AlignedBuffer // [2 * threads * maxChunks, group * headDim] their chunks' values
    private let scratch: [KernelScratch]  // per thread: unpacked weight rows, one converted row
    private let scores: [AlignedBuffer]   // per thread: [group, scoreStride]
    private let normalizers: [AlignedBuffer] // per thread: [group, 2] softmax max and 1 / sum
    private let probabilities: [AlignedBuffer] // per thread: [group, CK_ATTENTION_CHUNK]
    private let partials: [AlignedBuffer] // per thread: [group, headDim] one chunk's weighted values
    private var wanted: [Int] = []        // batch indices of the rows in `logits`
    private let lora: LoRADeltas          // the batch's adapters and their [3, maxBatch, dim] scratch
    // What each adapted projection reads and adds to, grouped as the pass computes them.
    private let qkvTargets: [LoRADeltas.Target]     // xb → q, k, v
    private let outputTargets: [LoRADeltas.Target]  // att → x
    private let gateUpTargets: [LoRADeltas.Target]  // xb → gate, up
    private let downTargets: [LoRADeltas.Target]    // silu(gate) * up → x

    init(config: LlamaConfig, weights: LlamaWeights, kernels: KernelSet, pool: WorkerPool, maxBatch: Int = 512) {
        self.config = config
        self.weights = weights
        self.kernels = kernels
        self.pool = pool
        self.maxBatch = maxBatch
        dim = config.embeddingLength
        headDim = config.headDimension
        qDim = config.headCount * headDim
        kvDim = config.kvDimension
        hidden = config.feedForwardLength
        group = config.groupSize
        vocabulary = config.vocabularySize
        ropeDim = config.ropeDimensionCount
        rotary = RotaryEmbedding(config: config)
        attentionScale = 1 / Float(headDim).squareRoot()
        maxChunks = Attention.chunkCount(length: config.contextLength)
        scoreStride = (config.contextLength + 15) / 16 * 16
        wanted.reserveCapacity(logitRows)

        func floats(_ rows: Int, _ columns: Int) -> AlignedBuffer { AlignedBuffer(byteCount: 4 * rows * columns) }
        x = floats(maxBatch, dim)
        xb = floats(maxBatch, dim)
        q = floats(maxBatch, qDim)
        keyValue = floats(maxBatch, 2 * kvDim)
        keyValueHalf = AlignedBuffer(byteCount: 2 * maxBatch * 2 * kvDim)
        att = floats(maxBatch, qDim)
        gate = floats(maxBatch, hidden)
        up = floats(maxBatch, hidden)
        rope = floats(maxBatch, ropeDim)
        xq = QuantizedActivations(columns: dim, capacity: maxBatch)
        attq = QuantizedActivations(columns: qDim, capacity: maxBatch)
        hq = QuantizedActivations(columns: hidden, capacity: maxBatch)
        headInput = floats(logitRows, dim)
        headq = QuantizedActivations(columns: dim, capacity: logitRows)
        logits = floats(logitRows, vocabulary)
        let threads = pool.threadCount, heads = group, width = group * headDim, stride = scoreStride
        splitScores = floats(2 * threads * heads, stride)
        splitPartials = floats(2 * threads * maxChunks, width)
        let widest = max(dim, qDim, hidden)
        scratch = (0..<threads).map { _ in KernelScratch(maxColumns: widest) }
        scores = (0..<threads).map { _ in floats(heads, stride) }
        normalizers = (0..<threads).map { _ in floats(heads, 2) }
        probabilities = (0..<threads).map { _ in floats(heads, Int(CK_ATTENTION_CHUNK)) }
        partials = (0..<threads).map { _ in floats(1, width) }
        lora = LoRADeltas(config: config, maxBatch: maxBatch, pool: pool, kernels: kernels)
        func target(_ projection: LoRAProjection, _ input: AlignedBuffer, _ inputStride: Int,
                    _ output: UnsafeMutablePointer<Float>, _ outputStride: Int) -> LoRADeltas.Target {
            LoRADeltas.Target(projection: projection, input: input.floats(), inputStride: inputStride,
                              output: output, outputStride: outputStride)
        }
        qkvTargets = [target(.query, xb, dim, q.floats(), qDim), target(.key, xb, dim, keyValue.floats(), 2 * kvDim),
                      target(.value, xb, dim, keyValue.floats() + kvDim, 2 * kvDim)]
        outputTargets = [target(.output, att, qDim, x.floats(), dim)]
        gateUpTargets = [target(.gate, xb, dim, gate.floats(), hidden), target(.up, xb, dim, up.floats(), hidden)]
        downTargets = [target(.down, gate, hidden, x.floats(), dim)]
    }

    /// Runs `batch` (at most `maxBatch` tokens), writing its keys and values into `cache`, and calls
    /// `onLogits(index, logits)` for every token that wants logits, in batch order, on this thread
    /// (the logits pointer is valid during the call only).
    func forward(_ batch: TokenBatch, cache: KVCache, onLogits: (Int, UnsafePointer<Float>) -> Void) throws(InferenceError) {
        let n = batch.count
        guard n > 0 else { return }
        precondition(n <= maxBatch, "batch of \(n) tokens exceeds \(maxBatch)")
        for token in batch.tokens where token < 0 || Int(token) >= vocabulary {
            throw .invalidTokenID(token, vocabularySize: vocabulary)
        }
        try lora.prepare(batch)
        defer { lora.clear() }
        try prepareCache(batch, cache)

        // Token embeddings and each token's rotation angles.
        for t in 0..<n {
            weights.tokenEmbedding.dequantizeRow(Int(batch.tokens[t]), into: x.floats() + t * dim)
            rotary.fill(position: batch.positions[t], into: rope.floats() + t * ropeDim)
        }

        for (l, layer) in weights.layers.enumerated() {
            // Attention block: xb = rmsnorm(x); q, k, v = xb · Wᵀ, plus each token's adapter deltas.
            normalize(rows: n, weight: layer.attentionNorm, quantized: xq)
            let normalized = MatMulInput(floats: xb.floats(), floatStride: dim, quantized: xq, rows: n)
            lora.prepareInputs(layer: l, qkvTargets)
            let qkvChunks = pool.chunks(for: qDim + 2 * kvDim, minimum: 48)
            pool.run(chunks: qkvChunks) { thread, c in
                let qRows = WorkerPool.part(c, of: qkvChunks, count: qDim, alignment: 16)
                let kvRows = WorkerPool.part(c, of: qkvChunks, count: kvDim, alignment: 16)
                MatMul.multiply(layer.query, rows: qRows, input: normalized, y: q.floats(), yStride: qDim,
                                scratch: scratch[thread], kernels: kernels)
                lora.addDeltas(layer: l, qkvTargets, target: 0, outputs: qRows)
                MatMul.multiply(layer.key, rows: kvRows, input: normalized, y: keyValue.floats(), yStride: 2 * kvDim,
                                scratch: scratch[thread], kernels: kernels)
                lora.addDeltas(layer: l, qkvTargets, target: 1, outputs: kvRows)
                MatMul.multiply(layer.value, rows: kvRows, input: normalized, y: keyValue.floats() + kvDim, yStride: 2 * kvDim,
                                scratch: scratch[thread], kernels: kernels)
                lora.addDeltas(layer: l, qkvTargets, target: 2, outputs: kvRows)
            }
            storeKeysAndValues(batch, layer: l, cache: cache)
            attention(batch, layer: l, cache: cache)

            // att · Woᵀ and its adapter delta, added to the residual stream.
            if MatMul.readsQuantized(layer.output) {
                quantize(att.floats(), stride: qDim, rows: n, into: attq)
            }
            project(layer.output, input: MatMulInput(floats: att.floats(), floatStride: qDim, quantized: attq, rows: n),
                    layer: l, lora: outputTargets)

            // Feed-forward block: x += (silu(xb · Wgᵀ) * (xb · Wuᵀ)) · Wdᵀ with xb = rmsnorm(x), each
            // product plus its adapter delta.
            normalize(rows: n, weight: layer.feedForwardNorm, quantized: xq)
            let input = MatMulInput(floats: xb.floats(), floatStride: dim, quantized: xq, rows: n)
            let ffnChunks = pool.chunks(for: hidden)
            // silu(gate) * up is taken as each chunk's gate and up (with their adapter deltas) are done.
            lora.prepareInputs(layer: l, gateUpTargets)
            pool.run(chunks: ffnChunks) { thread, c in
                let rows = WorkerPool.part(c, of: ffnChunks, count: hidden, alignment: 16)
                MatMul.multiply(layer.gate, rows: rows, input: input, y: gate.floats(), yStride: hidden,
                                scratch: scratch[thread], kernels: kernels)
                lora.addDeltas(layer: l, gateUpTargets, target: 0, outputs: rows)
                MatMul.multiply(layer.up, rows: rows, input: input, y: up.floats(), yStride: hidden,
                                scratch: scratch[thread], kernels: kernels)
                lora.addDeltas(layer: l, gateUpTargets, target: 1, outputs: rows)
                siluMul(rows: n, columns: rows)
            }
            if MatMul.readsQuantized(layer.down) {
                quantize(gate.floats(), stride: hidden, rows: n, into: hq)
            }
            project(layer.down, input: MatMulInput(floats: gate.floats(), floatStride: hidden, quantized: hq, rows: n),
                    layer: l, lora: downTargets)
        }

        try computeLogits(batch, onLogits: onLogits)
    }

    // MARK: Steps

    /// Validates the batch's sequences and makes their positions writable.
    private func prepareCache(_ batch: TokenBatch, _ cache: KVCache) throws(InferenceError) {
        var t = 0
        while t < batch.count {
            let sequence = batch.sequences[t]
            let start = batch.positions[t]
            var end = t + 1
            while end < batch.count, batch.sequences[end] == sequence {
                precondition(batch.positions[end] == batch.positions[end - 1] + 1, "positions of a sequence must be consecutive")
                end += 1
            }
            precondition(start >= 0 && start <= cache.length(of: sequence), "position \(start) leaves a gap in the sequence")
            try cache.prepareWrite(sequence, from: start, to: start + (end - t))
            t = end
        }
    }

    /// xb = rmsnorm(x) * weight for every row, and its int8 blocks for the matrices that read those.
    private func normalize(rows n: Int, weight: [Float], quantized: QuantizedActivations) {
        weight.withUnsafeBufferPointer { w in
            let epsilon = config.rmsEpsilon
            func body(_ rows: Range<Int>) {
                for t in rows {
                    Elementwise.rmsNorm(x.floats() + t * dim, weight: w.baseAddress!, epsilon: epsilon,
                                        xb.floats() + t * dim, count: dim)
                }
                if !rows.isEmpty {
                    quantized.quantize(xb.floats(), xStride: dim, rows: rows.lowerBound, count: rows.count, kernels: kernels)
                }
            }
            if n < Self.inlineRows {
                body(0..<n)
            } else {
                let chunks = pool.chunks(for: n, minimum: 2)
                pool.run(chunks: chunks) { _, c in body(WorkerPool.part(c, of: chunks, count: n)) }
            }
        }
    }

    /// gate = silu(gate) * up over `columns` of the first `rows` rows.
    private func siluMul(rows n: Int, columns: Range<Int>) {
        guard !columns.isEmpty else { return }
        for t in 0..<n {
            let offset = t * hidden + columns.lowerBound
            Elementwise.siluMul(gate.floats() + offset, up.floats() + offset, gate.floats() + offset,
                                count: columns.count, kernels: kernels)
        }
    }

    private func quantize(_ source: UnsafeMutablePointer<Float>, stride: Int, rows n: Int, into quantized: QuantizedActivations) {
        if n < Self.inlineRows {
            quantized.quantize(source, xStride: stride, rows: 0, count: n, kernels: kernels)
        } else {
            let chunks = pool.chunks(for: n, minimum: 2)
            pool.run(chunks: chunks) { _, c in
                let rows = WorkerPool.part(c, of: chunks, count: n)
                if !rows.isEmpty {
                    quantized.quantize(source, xStride: stride, rows: rows.lowerBound, count: rows.count, kernels: kernels)
                }
            }
        }
    }

    /// x += input · Wᵀ (the residual connection, added as each output is computed), then the
    /// adapter deltas of `targets` (whose outputs are x).
    private func project(_ w: PackedMatrix, input: MatMulInput, layer: Int, lora targets: [LoRADeltas.Target]) {
        lora.prepareInputs(layer: layer, targets)
        let chunks = pool.chunks(for: w.rows)
        pool.run(chunks: chunks) { thread, c in
            let rows = WorkerPool.part(c, of: chunks, count: w.rows, alignment: 16)
            MatMul.multiply(w, rows: rows, input: input, y: x.floats(), yStride: dim, accumulate: true,
                            scratch: scratch[thread], kernels: kernels)
            lora.addDeltas(layer: layer, targets, target: 0, outputs: rows)
        }
    }

    /// Applies RoPE to the batch's queries and keys and writes keys and values (f16) to the cache
    /// (tokens split over the threads: each writes its own positions).
    private func storeKeysAndValues(_ batch: TokenBatch, layer: Int, cache: KVCache) {
        if batch.count < Self.inlineRows {
            storeKeysAndValues(batch, tokens: 0..<batch.count, layer: layer, cache: cache)
        } else {
            let chunks = pool.chunks(for: batch.count, minimum: 2)
            pool.run(chunks: chunks) { _, c in
                storeKeysAndValues(batch, tokens: WorkerPool.part(c, of: chunks, count: batch.count), layer: layer, cache: cache)
            }
        }
    }

    private func storeKeysAndValues(_ batch: TokenBatch, tokens: Range<Int>, layer: Int, cache: KVCache) {
        let kvHeads = config.headCountKV
        for t in tokens {
            let table = UnsafePointer(rope.floats() + t * ropeDim)
            rotary.rotate(q.floats() + t * qDim, heads: config.headCount, table: table)
            Elementwise.roundToHalf(q.floats() + t * qDim, count: qDim, kernels: kernels)
            let keys = keyValue.floats() + t * 2 * kvDim
            rotary.rotate(keys, heads: kvHeads, table: table)
            let halves = keyValueHalf.pointer.assumingMemoryBound(to: UInt16.self) + t * 2 * kvDim
            Elementwise.toHalf(keys, halves, count: 2 * kvDim, kernels: kernels)
            cache.store(batch.sequences[t], position: batch.positions[t], layer: layer, keys: halves, values: halves + kvDim)
        }
    }

    /// att[t] for every token: each query head against its KV head's cache up to the token's position.
    private func attention(_ batch: TokenBatch, layer: Int, cache: KVCache) {
        let n = batch.count, kvHeads = config.headCountKV
        let width = group * headDim
        let longest = batch.positions.prefix(n).max()! + 1
        if pool.threadCount > 1, n * kvHeads < 2 * pool.threadCount, longest > Attention.chunk {
            // Few (token, head) pairs with long contexts, as in decode after a long prompt: spread
            // their chunks over the threads (two passes, so only worth it when chunks are many),
            // unless there are more chunks than one pool job holds.
            var taskCount = 0
            for t in 0..<n { taskCount += kvHeads * Attention.chunkCount(length: batch.positions[t] + 1) }
            if taskCount <= WorkerPool.maxChunks {
                splitAttention(batch, layer: layer, cache: cache, taskCount: taskCount)
                return
            }
        }
        // One task per (token, KV head); later tokens of a prompt cost more, which the threads'
        // claiming of tasks evens out.
        let pairs = n * kvHeads, perChunk = (pairs + WorkerPool.maxChunks - 1) / WorkerPool.maxChunks
        pool.run(chunks: (pairs + perChunk - 1) / perChunk) { thread, chunk in
            for pair in (chunk * perChunk)..<min(pairs, (chunk + 1) * perChunk) {
                let t = pair / kvHeads, h = pair % kvHeads
                Attention.attend(q.floats() + t * qDim + h * width, group: group,
                                 kv: cache.view(batch.sequences[t], layer: layer, head: h),
                                 length: batch.positions[t] + 1, scale: attentionScale,
                                 scores: scores[thread].floats(), stride: scoreStride, normalizers: normalizers[thread].floats(),
                                 probabilities: probabilities[thread].floats(), partial: partials[thread].floats(),
                                 out: att.floats() + t * qDim + h * width, kernels: kernels)
            }
        }
    }

    /// Attention with each (token, KV head) pair's chunks as separate tasks. Pass 1: scores;
    /// pass 2: probabilities and each chunk's weighted values; then the chunks are added in
    /// order, exactly as `Attention.attend` does. Task k is chunk c of token t's KV head h, in
    /// (t, h, c) order.
    private func splitAttention(_ batch: TokenBatch, layer: Int, cache: KVCache, taskCount: Int) {
        let n = batch.count, kvHeads = config.headCountKV
        let width = group * headDim
        func locate(_ task: Int) -> (t: Int, h: Int, c: Int) {
            var first = 0
            for t in 0..<n {
                let chunks = Attention.chunkCount(length: batch.positions[t] + 1)
                if task < first + kvHeads * chunks { return (t, (task - first) / chunks, (task - first) % chunks) }
                first += kvHeads * chunks
            }
            preconditionFailure("attention task \(task) out of range")
        }
        pool.run(chunks: taskCount) { _, task in
            let (t, h, c) = locate(task)
            let length = batch.positions[t] + 1
            Attention.scores(q.floats() + t * qDim + h * width, group: group,
                             kv: cache.view(batch.sequences[t], layer: layer, head: h),
                             range: Attention.chunkRange(c, length: length), scale: attentionScale,
                             scores: splitScores.floats() + (t * kvHeads + h) * group * scoreStride,
                             stride: scoreStride, kernels: kernels)
        }
        pool.run(chunks: taskCount) { thread, task in
            let (t, h, c) = locate(task)
            let length = batch.positions[t] + 1
            let pairScores = splitScores.floats() + (t * kvHeads + h) * group * scoreStride
            Attention.normalizers(pairScores, stride: scoreStride, group: group, length: length,
                                  into: normalizers[thread].floats(), kernels: kernels)
            Attention.chunkValues(pairScores, stride: scoreStride, normalizers: normalizers[thread].floats(), group: group,
                                  kv: cache.view(batch.sequences[t], layer: layer, head: h), length: length,
                                  chunkIndex: c, probabilities: probabilities[thread].floats(),
                                  out: splitPartials.floats() + task * width, kernels: kernels)
        }
        var task = 0
        for t in 0..<n {
            for h in 0..<kvHeads {
                let out = att.floats() + t * qDim + h * width
                out.update(repeating: 0, count: width)
                for _ in 0..<Attention.chunkCount(length: batch.positions[t] + 1) {
                    let partial = splitPartials.floats() + task * width
                    for j in 0..<width { out[j] += partial[j] }
                    task += 1
                }
            }
        }
    }

    /// Final norm and output projection for the tokens that want logits, `logitRows` at a time.
    private func computeLogits(_ batch: TokenBatch, onLogits: (Int, UnsafePointer<Float>) -> Void) throws(InferenceError) {
        let head = weights.output
        var t = 0
        while t < batch.count {
            wanted.removeAll(keepingCapacity: true)
            while t < batch.count, wanted.count < logitRows {
                if batch.wantsLogits[t] { wanted.append(t) }
                t += 1
            }
            guard !wanted.isEmpty else { continue }
            weights.outputNorm.withUnsafeBufferPointer { w in
                for (row, token) in wanted.enumerated() {
                    Elementwise.rmsNorm(x.floats() + token * dim, weight: w.baseAddress!, epsilon: config.rmsEpsilon,
                                        headInput.floats() + row * dim, count: dim)
                }
            }
            if MatMul.readsQuantized(head) {
                headq.quantize(headInput.floats(), xStride: dim, rows: 0, count: wanted.count, kernels: kernels)
            }
            let input = MatMulInput(floats: headInput.floats(), floatStride: dim, quantized: headq, rows: wanted.count)
            let chunks = pool.chunks(for: head.rows)
            pool.run(chunks: chunks) { thread, c in
                MatMul.multiply(head, rows: WorkerPool.part(c, of: chunks, count: head.rows, alignment: 16), input: input,
                                y: logits.floats(), yStride: vocabulary, scratch: scratch[thread], kernels: kernels)
            }
            for (row, token) in wanted.enumerated() { onLogits(token, logits.floats() + row * vocabulary) }
        }
    }
}
