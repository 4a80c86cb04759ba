import Foundation
import Glibc

/// Throughput of the runtime on synthetic prompts, as `popi bench` and bench/runtime-vs-llamacpp.sh
/// report it. Prompt token i is `promptToken(i, vocabularySize:)`, the same formula the peer
/// script uses.
public enum RuntimeBenchmark {
    public struct Result: Sendable, Codable {
        public var threads: Int
        /// Rank of the LoRA adapter (on every projection) that every token ran with, or nil.
        public var adapterRank: Int?
        /// Prompt length -> tokens per second of prefill.
        public var prefill: [String: Double]
        /// Prompt length -> tokens per second of greedy decode (128 tokens) after it.
        public var decode: [String: Double]
        /// Milliseconds from a 256-token prompt to its first sampled token, through the engine.
        public var timeToFirstTokenMs: Double
        /// Aggregate tokens per second of 8 sequences decoded together (after 16 prompt tokens).
        public var batchedDecode8: Double
        /// Peak resident set size of the process so far, MiB.
        public var peakRSSMiB: Double
    }

    public static let prefillLengths = [64, 256, 1024]
    public static let decodeContexts = [16, 1024]
    public static let decodeTokens = 128

    /// Ids spread over 500..<40500, wrapped into smaller vocabularies (larger ones, like the
    /// default model's, see unchanged ids, so earlier figures stay comparable).
    public static func promptToken(_ i: Int, vocabularySize: Int) -> Int32 {
        Int32(((i * 7919 + 13) % 40000 + 500) % vocabularySize)
    }

    /// Runs every measurement `repeats` times with `threads` threads and keeps the best of each;
    /// with `adapterRank`, every token runs with a LoRA adapter of that rank on every projection.
    public static func run(modelPath: String, threads: Int, repeats: Int, kernels: KernelSet = .detected,
                           adapterRank: Int? = nil) throws -> Result {
        let engine = try InferenceEngine(configuration: EngineConfiguration(modelPath: modelPath, threads: threads, kernels: kernels))
        defer { engine.shutdown() }
        let loop = engine.loop
        let vocabulary = loop.model.config.vocabularySize
        let adapter = try adapterRank.map { try benchmarkAdapter(config: loop.model.config, rank: $0) }
        let prompt = (0..<(prefillLengths + decodeContexts).max()!).map { promptToken($0, vocabularySize: vocabulary) }
        var result = Result(threads: threads, adapterRank: adapterRank, prefill: [:], decode: [:], timeToFirstTokenMs: .infinity,
                            batchedDecode8: 0, peakRSSMiB: 0)
        for _ in 0..<max(1, repeats) {
            try loop.exclusive { model, cache in
                for length in prefillLengths {
                    let seconds = try time { try prefill(loop, prompt[..<length], adapter: adapter, keep: false) }
                    result.prefill["\(length)"] = max(result.prefill["\(length)"] ?? 0, Double(length) / seconds)
                }
                for context in decodeContexts {
                    let sequence = try prefill(loop, prompt[..<context], adapter: adapter, keep: true)
                    defer { cache.remove(sequence) }
                    let seconds = try time {
                        try decode(model, cache, sequences: [sequence], adapter: adapter, from: context, steps: decodeTokens)
                    }
                    result.decode["\(context)"] = max(result.decode["\(context)"] ?? 0, Double(decodeTokens) / seconds)
                }
                let root = try prefill(loop, prompt[..<16], adapter: adapter, keep: true)
                let sequences = [root] + (1..<8).map { _ in cache.fork(root) }
                defer { for sequence in sequences { cache.remove(sequence) } }
                let seconds = try time {
                    try decode(model, cache, sequences: sequences, adapter: adapter, from: 16, steps: decodeTokens)
                }
                result.batchedDecode8 = max(result.batchedDecode8, Double(8 * decodeTokens) / seconds)
            }
            let request = GenerationRequest(prompt: .tokens(Array(prompt[..<256])), sampling: SamplingParameters(maxTokens: 1, temperature: 0),
                                            adapter: adapter)
            let seconds = try time { _ = try engine.generateBlocking(request) }
            result.timeToFirstTokenMs = min(result.timeToFirstTokenMs, seconds * 1000)
        }
        result.peakRSSMiB = peakResidentMiB()
        return result
    }

    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// A seeded adapter with small nonzero B, as a trained one has (the cost does not depend on the values).
    private static func benchmarkAdapter(config: LlamaConfig, rank: Int) throws -> LoRAAdapter {
        let adapter = try LoRAAdapter(config: config, rank: rank, seed: 1)
        var random = RandomGenerator(seed: 2)
        for slot in adapter.layout.slots {
            let b = adapter.b(slot)
            for i in 0..<slot.bCount { b[i] = Float(random.nextUnit() - 0.5) * 0.01 }
        }
        return adapter
    }

    /// Prefills `ids` into a new sequence as the engine does (logits for the last one only).
    @discardableResult
    private static func prefill(_ loop: EngineLoop, _ ids: ArraySlice<Int32>, adapter: LoRAAdapter?,
                                keep: Bool) throws -> KVCache.SequenceID {
        let sequence = loop.cache.create()
        try loop.prefill(ids, sequence: sequence, start: 0, adapter: adapter) { _ in }
        if !keep { loop.cache.remove(sequence) }
        return sequence
    }

    /// `steps` greedy decode steps of all `sequences` together, each at position `from` onward.
    private static func decode(_ model: LlamaModel, _ cache: KVCache, sequences: [KVCache.SequenceID], adapter: LoRAAdapter?,
                               from: Int, steps: Int) throws {
        let vocabulary = model.config.vocabularySize
        var next = [Int32](repeating: promptToken(from, vocabularySize: vocabulary), count: sequences.count)
        var batch = TokenBatch()
        for step in 0..<steps {
            batch.removeAll()
            for (i, sequence) in sequences.enumerated() {
                batch.append(next[i], position: from + step, sequence: sequence, logits: true, adapter: adapter)
            }
            try model.forward(batch, cache: cache) { t, logits in next[t] = Sampler.argmax(logits, count: vocabulary) }
        }
    }

    static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
