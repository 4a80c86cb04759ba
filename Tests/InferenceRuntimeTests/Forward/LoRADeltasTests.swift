import Foundation
import Testing
@testable import InferenceRuntime

/// LoRA adapters in the forward pass: the deltas against a double-precision reference, and the
/// real model's logits with adapters (zero B changes no bit, mixed batches equal each sequence
/// alone, batched prefill equals token-by-token decode).
@Suite(.serialized) struct LoRADeltasTests {
    static let config = LlamaModelTests.config

    /// An adapter on every projection with A seeded and B uniform in ±`b` (0: B stays zero).
    static func adapter(rank: Int = 16, alpha: Float = 32, b: Float, seed: UInt64) throws -> LoRAAdapter {
        let adapter = try LoRAAdapter(config: config, rank: rank, alpha: alpha, seed: seed)
        fill(adapter, b: b, seed: seed)
        return adapter
    }

    static func fill(_ adapter: LoRAAdapter, b: Float, seed: UInt64) {
        var random = SyntheticRandom(seed: seed &+ 1000)
        for slot in adapter.layout.slots {
            for i in 0..<slot.bCount { adapter.b(slot)[i] = random.float(b) }
        }
    }

    /// Prefills each prompt into its own sequence in one batch, then decodes `steps` tokens of all
    /// of them together (fed tokens that depend on the step and the prompt's length only): the
    /// logits of every pass, per prompt.
    static func together(_ model: LlamaModel, _ cache: KVCache, _ prompts: [[Int32]], adapters: [LoRAAdapter?],
                         steps: Int) throws -> [[[Float]]] {
        let sequences = prompts.map { _ in cache.create() }
        defer { for sequence in sequences { cache.remove(sequence) } }
        var out = [[[Float]]](repeating: [], count: prompts.count)
        var batch = TokenBatch()
        var owner: [Int] = []
        for (p, prompt) in prompts.enumerated() {
            for (i, id) in prompt.enumerated() {
                batch.append(id, position: i, sequence: sequences[p], logits: i == prompt.count - 1, adapter: adapters[p])
                owner.append(p)
            }
        }
        try model.forward(batch, cache: cache) { t, logits in
            out[owner[t]].append(Array(UnsafeBufferPointer(start: logits, count: model.config.vocabularySize)))
        }
        for step in 0..<steps {
            batch.removeAll()
            for (p, prompt) in prompts.enumerated() {
                batch.append(Int32(100 + 7 * step + prompt.count), position: prompt.count + step, sequence: sequences[p], logits: true,
                             adapter: adapters[p])
            }
            try model.forward(batch, cache: cache) { t, logits in
                out[t].append(Array(UnsafeBufferPointer(start: logits, count: model.config.vocabularySize)))
            }
        }
        return out
    }

    static let ids = Array(ReferenceVectors.generation.prompts[1].prompt_ids.prefix(12))

    // MARK: The deltas

    /// y += scale · B·(A·x) for a run of tokens, checked in double precision, with ranks that are
    /// and are not whole tiles of 16 and a layout adapting only some projections; tokens without
    /// an adapter are untouched.
    @Test(arguments: [16, 5])
    func deltasMatchADoublePrecisionReference(rank: Int) throws {
        let layout = try LoRALayout(config: Self.config, shapes: [
            .init(layer: 0, projection: .key, rank: rank), .init(layer: 1, projection: .query, rank: rank),
        ])
        let adapter = try LoRAAdapter(layout: layout, alpha: 8)
        var random = SyntheticRandom(seed: UInt64(rank))
        for i in 0..<layout.parameterCount { adapter.parameters[i] = random.float(0.2) }
        let slot = try #require(layout.slot(layer: 0, projection: .key))
        let n = 7, inputs = slot.inputs, outputs = slot.outputs
        let x = (0..<(n * inputs)).map { _ in random.float(2) }
        let initial = (0..<(n * outputs)).map { _ in random.float(1) }
        var y = initial
        var batch = TokenBatch()
        for t in 0..<n { batch.append(1, position: t, sequence: 0, logits: false, adapter: t == 3 ? nil : adapter) }
        let pool = WorkerPool(threads: 2)
        let deltas = LoRADeltas(config: Self.config, maxBatch: 16, pool: pool, kernels: .detected)
        try deltas.prepare(batch)
        var input = x
        input.withUnsafeMutableBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                let targets = [
                    LoRADeltas.Target(projection: .query, input: xp.baseAddress!, inputStride: inputs,
                                      output: yp.baseAddress!, outputStride: outputs),
                    LoRADeltas.Target(projection: .key, input: xp.baseAddress!, inputStride: inputs,
                                      output: yp.baseAddress!, outputStride: outputs),
                ]
                deltas.prepareInputs(layer: 0, targets)
                // Output rows in pieces, as the projection's chunks add them.
                for index in targets.indices {
                    for rows in [0..<16, 16..<outputs] { deltas.addDeltas(layer: 0, targets, target: index, outputs: rows) }
                }
            }
        }
        let a = adapter.a(slot), b = adapter.b(slot), scale = Double(adapter.scale(slot))
        #expect(adapter.scale(slot) == 8 / Float(rank))
        var worst = 0.0
        for t in 0..<n {
            for o in 0..<outputs {
                var expected = Double(initial[t * outputs + o])
                if t != 3 {
                    var delta = 0.0
                    for r in 0..<rank {
                        var ax = 0.0
                        for i in 0..<inputs { ax += Double(a[r * inputs + i]) * Double(x[t * inputs + i]) }
                        delta += Double(b[o * rank + r]) * ax
                    }
                    expected += scale * delta
                }
                let got = Double(y[t * outputs + o])
                if t == 3 { #expect(got == expected) }
                worst = max(worst, abs(got - expected) / max(1, abs(expected)))
            }
        }
        #expect(worst < 1e-5)
    }

    /// 37 rows: two blocks of 16 (the AVX-512 kernel sums a block's rows together) and 5 rows one
    /// by one; with `accumulate`, onto values already there.
    @Test func theF32KernelTakesAnyWidthAndAgreesAcrossKernelSets() {
        var random = SyntheticRandom(seed: 9)
        for k in [5, 16, 37, 576] {
            for (nRows, accumulate) in [(3, false), (37, false), (37, true)] {
                let w = (0..<(nRows * k)).map { _ in random.float(1) }, x = (0..<(4 * k)).map { _ in random.float(1) }
                let start = (0..<(4 * nRows)).map { _ in accumulate ? random.float(1) : 0 }
                var results: [[Float]] = []
                for kernels in KernelSet.allCases where KernelSet.isSupported(kernels) {
                    var y = start
                    MatMul.multiplyFloats(w, wStride: k, nRows: nRows, x, xStride: k, mRows: 4, k: k, y: &y, yStride: nRows,
                                          accumulate: accumulate, kernels: kernels)
                    results.append(y)
                    for m in 0..<4 {
                        for n in 0..<nRows {
                            var s = Double(start[m * nRows + n])
                            for i in 0..<k { s += Double(w[n * k + i]) * Double(x[m * k + i]) }
                            #expect(abs(Double(y[m * nRows + n]) - s) < 1e-4 * Double(k), "k \(k) row \(m) column \(n)")
                        }
                    }
                }
                #expect(results.allSatisfy { $0 == results[0] }, "k \(k), \(nRows) rows, accumulate \(accumulate)")
            }
        }
    }

    // MARK: The model with adapters

    @Test func anAdapterWithZeroBChangesNoBitAndANonzeroBChangesTheLogits() throws {
        let (model, cache) = LlamaModelTests.makeModel()
        let zero = try Self.adapter(b: 0, seed: 1)
        let base = try LlamaModelTests.logits(model, cache, Self.ids, adapter: nil)
        #expect(try LlamaModelTests.logits(model, cache, Self.ids, adapter: zero) == base)
        #expect(try LlamaModelTests.logits(model, cache, Self.ids, adapter: zero, tokenByToken: true) == base)
        let prompts = [Self.ids, Array(Self.ids.prefix(5)), Array(Self.ids.dropFirst(3))]
        let baseTogether = try Self.together(model, cache, prompts, adapters: [nil, nil, nil], steps: 3)
        #expect(try Self.together(model, cache, prompts, adapters: [zero, zero, zero], steps: 3) == baseTogether)

        // The same adapter, trained: every logit row moves.
        Self.fill(zero, b: 0.05, seed: 1)
        let adapted = try LlamaModelTests.logits(model, cache, Self.ids, adapter: zero)
        for (row, baseRow) in zip(adapted, base) {
            #expect(row != baseRow)
            #expect(row.allSatisfy { $0.isFinite })
        }
        let moved = zip(adapted.last!, base.last!).map { abs($0 - $1) }.max()!
        print("largest change of a last-token logit with a rank-16 adapter (B in ±0.05): \(moved)")
    }

    @Test func aMixedBatchGivesEachSequenceTheBitsItGetsAlone() throws {
        let (model, cache) = LlamaModelTests.makeModel()
        let first = try Self.adapter(b: 0.05, seed: 2)
        // Rank 8 (tiles of 16 do not divide it) on half the projections of every other layer.
        let second = try LoRAAdapter(layout: LoRALayout(config: Self.config, shapes: stride(from: 0, to: 30, by: 2).flatMap { layer in
            [LoRAProjection.query, .value, .up, .down].map { LoRALayout.SlotShape(layer: layer, projection: $0, rank: 8) }
        }), alpha: 16)
        var random = SyntheticRandom(seed: 3)
        for i in 0..<second.layout.parameterCount { second.parameters[i] = random.float(0.05) }
        let prompts = [Self.ids, Array(Self.ids.prefix(5)), Array(Self.ids.dropFirst(3)), Array(Self.ids.prefix(9))]
        let adapters: [LoRAAdapter?] = [nil, first, second, first]
        let together = try Self.together(model, cache, prompts, adapters: adapters, steps: 3)
        for p in prompts.indices {
            let alone = try Self.together(model, cache, [prompts[p]], adapters: [adapters[p]], steps: 3)[0]
            #expect(together[p] == alone ? true : false, "prompt \(p)")
        }
        let base = try Self.together(model, cache, [prompts[1]], adapters: [nil], steps: 3)[0]
        #expect(together[1] != base ? true : false)
    }

    @Test func batchedPrefillEqualsTokenByTokenDecodeWithAnAdapterAndThreadCountsAgree() throws {
        let (two, cacheTwo) = LlamaModelTests.makeModel(threads: 2)
        let (one, cacheOne) = LlamaModelTests.makeModel(threads: 1)
        let adapter = try Self.adapter(b: 0.05, seed: 4)
        let batched = try LlamaModelTests.logits(two, cacheTwo, Self.ids, adapter: adapter)
        #expect(try LlamaModelTests.logits(two, cacheTwo, Self.ids, adapter: adapter, tokenByToken: true) == batched)
        #expect(try LlamaModelTests.logits(one, cacheOne, Self.ids, adapter: adapter) == batched)
    }

    @Test(.enabled(if: !KernelSet.simdSets.isEmpty && KernelSet.detected != .portable))
    func simdAndPortableKernelsComputeTheSameAdaptedModel() throws {
        let ids = Array(Self.ids.prefix(6))
        let (portable, portableCache) = LlamaModelTests.makeModel(kernels: .portable)
        for adapter in [try Self.adapter(b: 0.05, seed: 5), try Self.adapter(rank: 8, b: 0.05, seed: 6)] {
            let portableLogits = try LlamaModelTests.logits(portable, portableCache, ids, adapter: adapter)
            for kernels in KernelSet.simdSets {
                let (simd, simdCache) = LlamaModelTests.makeModel(kernels: kernels)
                #expect(try LlamaModelTests.logits(simd, simdCache, ids, adapter: adapter) == portableLogits, "\(kernels)")
            }
        }
    }

    /// Adapters made for other shapes (the tiny file of LlamaConfigErrorTests: 2 layers of width
    /// 64; and with 30 layers) are refused before anything runs.
    @Test func anAdapterForAnotherModelIsATypedError() throws {
        let (model, cache) = LlamaModelTests.makeModel()
        let twoLayers = try LlamaConfig(gguf: GGUFFile(bytes: LlamaConfigErrorTests.writer().bytes()))
        let thirtyLayers = try LlamaConfig(gguf: GGUFFile(bytes: LlamaConfigErrorTests.writer {
            $0[1].1 = .uint32(30)
        }.bytes()))
        let expected: [(LoRAAdapter, AdapterError)] = [
            (try LoRAAdapter(config: twoLayers, rank: 4, seed: 1), .layerCountMismatch(adapter: 2, model: 30)),
            (try LoRAAdapter(config: thirtyLayers, rank: 4, seed: 1),
             .modelShapeMismatch(tensor: "blk.0.attn_q.weight", adapter: [64, 64], model: [576, 576])),
        ]
        for (adapter, error) in expected {
            #expect(throws: InferenceError.adapterMismatch(error)) {
                _ = try LlamaModelTests.logits(model, cache, Self.ids, adapter: adapter)
            }
        }
        #expect(AdapterError.layerCountMismatch(adapter: 2, model: 30).description
                == "the adapter was made for a model with 2 layers, but this model has 30")
    }
}
