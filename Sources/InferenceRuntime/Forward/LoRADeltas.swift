/// The LoRA part of a forward pass: after a block's projection y = W·x, y += scale · B·(A·x) for
/// every token whose adapter adapts that projection (see `LoRAAdapter`); tokens without an
/// adapter are left alone.
///
/// t = A·x is computed before the projection (on the calling thread for a small batch), and each
/// chunk of the projection adds B·t to the rows it has just computed, so in a decode step an
/// adapter adds no pass over the threads of its own.
///
/// Consecutive tokens that share an adapter form a run and are multiplied together. Every row
/// of a delta comes from its own token's row through `MatMul.multiplyFloats`, so it does not
/// depend on the rest of the batch: a sequence alone or in a mixed batch, prefilled or decoded
/// token by token, gets the same bits; and an adapter whose B is zero adds exactly zero.
final class LoRADeltas {
    /// A projection whose delta is computed from `input` (its float input rows) and added to
    /// `output` (its output rows, or the residual stream its product was added to).
    struct Target {
        let projection: LoRAProjection
        let input: UnsafeMutablePointer<Float>
        let inputStride: Int
        let output: UnsafeMutablePointer<Float>
        let outputStride: Int
    }

    /// Tokens sharing one adapter.
    private struct Run {
        let tokens: Range<Int>
        let adapter: LoRAAdapter
    }

    /// Most targets applied together (query, key and value).
    static let maxTargets = 3

    private let config: LlamaConfig
    private let pool: WorkerPool
    private let kernels: KernelSet
    private let maxBatch: Int
    private let dim: Int

    /// [maxTargets, maxBatch, dim] t = scale · A·x of each target, token rows `rankStride` apart.
    /// No rank exceeds dim (every projection has the model width on one side), so this bound
    /// serves any adapter without sizing at run time, and it costs only what a pass writes:
    /// AlignedBuffer's pages become resident when first touched, n × rankStride floats a target.
    private let t: AlignedBuffer
    private var runs: [Run] = []
    /// The widest rank among the batch's adapters.
    private var rankStride = 0
    private var tokenCount = 0

    init(config: LlamaConfig, maxBatch: Int, pool: WorkerPool, kernels: KernelSet) {
        self.config = config
        self.pool = pool
        self.kernels = kernels
        self.maxBatch = maxBatch
        dim = config.embeddingLength
        t = AlignedBuffer(byteCount: 4 * Self.maxTargets * maxBatch * dim)
        runs.reserveCapacity(maxBatch)
    }

    /// Finds the runs of `batch`, checking each adapter against the model.
    func prepare(_ batch: TokenBatch) throws(InferenceError) {
        clear()
        tokenCount = batch.count
        var start = 0
        while start < batch.count {
            var end = start + 1
            while end < batch.count, batch.adapters[end] === batch.adapters[start] { end += 1 }
            if let adapter = batch.adapters[start] {
                do {
                    try adapter.layout.validate(for: config)
                } catch {
                    clear()
                    throw .adapterMismatch(error)
                }
                runs.append(Run(tokens: start..<end, adapter: adapter))
                rankStride = max(rankStride, adapter.layout.widestRank)
            }
            start = end
        }
    }

    /// Forgets the batch's adapters (so the model holds none between passes).
    func clear() {
        runs.removeAll(keepingCapacity: true)
        rankStride = 0
        tokenCount = 0
    }

    /// Most multiply-adds of A·x done on the calling thread: a decode step's product costs less
    /// than handing it to the pool and waiting for it.
    static let inlineProduct = 1 << 18

    /// t = scale · A·x for each target (at most `maxTargets`) that the runs' adapters adapt in
    /// `layer`; `addDeltas` then adds B·t to each output row as the projection computes it.
    func prepareInputs(layer: Int, _ targets: [Target]) {
        guard !runs.isEmpty else { return }
        precondition(targets.count <= Self.maxTargets, "at most \(Self.maxTargets) LoRA targets at once")
        let stride = rankStride, n = tokenCount
        let product = n * stride * targets.reduce(0) { $0 + $1.projection.inputs(config) }
        if product <= Self.inlineProduct {
            multiplyInputs(layer: layer, targets, tokens: 0..<n, chunk: 0, of: 1, byTokens: true)
            return
        }
        // Split over the tokens when there are enough for every thread, else over the rows of A.
        let tokenChunks = pool.chunks(for: n, minimum: 16)
        let byTokens = tokenChunks >= pool.threadCount
        let chunks = byTokens ? tokenChunks : pool.chunks(for: stride, minimum: 2)
        pool.run(chunks: chunks) { _, c in
            multiplyInputs(layer: layer, targets, tokens: byTokens ? WorkerPool.part(c, of: chunks, count: n) : 0..<n,
                           chunk: c, of: chunks, byTokens: byTokens)
        }
    }

    /// t of `tokens`, all of A's rows when `byTokens`, else chunk `chunk` of `chunks` of them.
    private func multiplyInputs(layer: Int, _ targets: [Target], tokens part: Range<Int>, chunk c: Int, of chunks: Int,
                                byTokens: Bool) {
        let stride = rankStride
        for run in runs {
            let tokens = run.tokens.clamped(to: part)
            guard !tokens.isEmpty else { continue }
            for (index, target) in targets.enumerated() {
                guard let slot = run.adapter.layout.slot(layer: layer, projection: target.projection) else { continue }
                let ranks = byTokens ? 0..<slot.rank : WorkerPool.part(c, of: chunks, count: slot.rank)
                guard !ranks.isEmpty else { continue }
                let rows = t.floats() + index * maxBatch * dim + tokens.lowerBound * stride
                MatMul.multiplyFloats(run.adapter.a(slot) + ranks.lowerBound * slot.inputs, wStride: slot.inputs,
                                      nRows: ranks.count,
                                      target.input + tokens.lowerBound * target.inputStride, xStride: target.inputStride,
                                      mRows: tokens.count, k: slot.inputs,
                                      y: rows + ranks.lowerBound, yStride: stride, accumulate: false, kernels: kernels)
                let scale = run.adapter.scale(slot)
                for row in 0..<tokens.count {
                    for j in ranks { rows[row * stride + j] *= scale }
                }
            }
        }
    }

    /// y += B·t for output rows `outputs` of `targets[index]` (after `prepareInputs` with the same
    /// targets), from the pass that has just computed those rows: each row gets the same bits
    /// whichever chunk computes it.
    func addDeltas(layer: Int, _ targets: [Target], target index: Int, outputs: Range<Int>) {
        guard !runs.isEmpty, !outputs.isEmpty else { return }
        let target = targets[index], stride = rankStride
        for run in runs {
            guard let slot = run.adapter.layout.slot(layer: layer, projection: target.projection) else { continue }
            MatMul.multiplyFloats(run.adapter.b(slot) + outputs.lowerBound * slot.rank, wStride: slot.rank,
                                  nRows: outputs.count,
                                  t.floats() + index * maxBatch * dim + run.tokens.lowerBound * stride, xStride: stride,
                                  mRows: run.tokens.count, k: slot.rank,
                                  y: target.output + run.tokens.lowerBound * target.outputStride + outputs.lowerBound,
                                  yStride: target.outputStride, accumulate: true, kernels: kernels)
        }
    }
}
