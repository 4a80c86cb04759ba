import Foundation
import Synchronization
public import InferenceRuntime

/// POPI's model interface on the in-process runtime: every call goes to the one engine, which
/// batches concurrent work (best-of-N samples decode together; responses after one prompt
/// share its KV cache).
///
/// With an adapter, every call runs the base with that LoRA adapter; models with and without
/// adapters share one engine, and their requests share its batches.
public final class RuntimeModel: PreferenceModel {
    public let engine: InferenceEngine
    public let modelID: String
    public let adapter: LoRAAdapter?
    /// Whether `sample` keeps the opening its prompts share with the previous one under the same
    /// adapter (chat template, system message, the signals' header), so the next user's summary
    /// prompt does not read it again. Only for adapters that stay fixed while in use: KV kept
    /// under an adapter a trainer updates in place would be stale.
    public let sharesPromptOpenings: Bool

    public init(engine: InferenceEngine, modelID: String, adapter: LoRAAdapter? = nil, sharesPromptOpenings: Bool = false) {
        self.engine = engine
        self.modelID = modelID
        self.adapter = adapter
        self.sharesPromptOpenings = sharesPromptOpenings
    }

    /// The same engine with `adapter` (nil: the base model), sharing prompt openings as this one does.
    public func with(adapter: LoRAAdapter?) -> RuntimeModel {
        RuntimeModel(engine: engine, modelID: modelID, adapter: adapter, sharesPromptOpenings: sharesPromptOpenings)
    }

    /// The same model, sharing prompt openings between `sample` calls (see `sharesPromptOpenings`).
    public func sharingPromptOpenings() -> RuntimeModel {
        RuntimeModel(engine: engine, modelID: modelID, adapter: adapter, sharesPromptOpenings: true)
    }

    /// Loads a GGUF model (any Llama-family file) and starts its engine.
    public static func load(path: String, threads: Int? = nil, chatTemplate: String? = nil,
                            prefixCacheBytes: Int? = nil) throws -> RuntimeModel {
        var configuration = EngineConfiguration(modelPath: path)
        if let threads { configuration.threads = threads }
        if let prefixCacheBytes { configuration.prefixCacheBytes = prefixCacheBytes }
        if let chatTemplate { configuration.chatTemplate = try ChatTemplate.Kind(argument: chatTemplate) }
        let engine = try InferenceEngine(configuration: configuration)
        return RuntimeModel(engine: engine, modelID: URL(fileURLWithPath: path).lastPathComponent)
    }

    public var contextLength: Int { engine.modelConfig.contextLength }

    public func tokenCount(_ text: String) -> Int {
        engine.tokenizer.encode(text, mode: .plain).count
    }

    public func truncate(_ text: String, maxTokens: Int) -> String {
        let ids = engine.tokenizer.encode(text, mode: .plain)
        guard ids.count > maxTokens else { return text }
        guard var bytes = try? engine.tokenizer.decode(Array(ids.prefix(maxTokens)), renderSpecial: false) else { return "" }
        // A token boundary can fall inside a character: drop the incomplete tail.
        while !bytes.isEmpty, String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func promptTokens(_ turns: [ChatMessage]) throws -> [Int32] {
        try engine.promptTokens(.messages(turns))
    }

    public func logProbabilities(of responses: [String], after turns: [ChatMessage]) async throws -> [Double] {
        try await engine.score(ScoreRequest(prompt: .messages(turns), responses: responses, adapter: adapter)).map(\.total)
    }

    public func logProbabilities(batch: [ScoringItem]) async throws -> [[Double]] {
        guard !batch.isEmpty else { return [] }
        let requests = batch.map { ScoreRequest(prompt: .messages($0.turns), responses: $0.responses, adapter: adapter) }
        return try await engine.score(requests).map { $0.map(\.total) }
    }

    public func sample(after turns: [ChatMessage], count: Int, settings: SamplingParameters) async throws -> SampleBatch {
        let started = ContinuousClock.now
        let firstText = FirstEvent()
        let generations = try await engine.generate(
            GenerationRequest(prompt: .messages(turns), sampling: settings, count: count, adapter: adapter,
                              prefixCache: sharesPromptOpenings ? openingKey : nil),
            onText: { _, _ in firstText.mark() })
        let finished = ContinuousClock.now
        // The prompt is read once for all samples before the first token; the rest is decoding.
        let prefill = (firstText.time ?? finished) - started
        return SampleBatch(generations: generations, prefillSeconds: prefill.seconds,
                           decodeSeconds: (finished - started - prefill).seconds)
    }

    /// One owner per adapter, so summaries with and without it keep their openings side by side
    /// (the cache also checks the adapter itself).
    private var openingKey: PrefixCacheKey {
        PrefixCacheKey(owner: "popi.sample." + (adapter.map { "\(ObjectIdentifier($0).hashValue)" } ?? "base"), version: "",
                       keepsSharedOpening: true)
    }

    public func generate(_ prompt: Prompt, settings: SamplingParameters, prefixCache: PrefixCacheKey?,
                         onText: @escaping @Sendable (String) -> Void) async throws -> Generation {
        let generations = try await engine.generate(
            GenerationRequest(prompt: prompt, sampling: settings, count: 1, adapter: adapter, prefixCache: prefixCache),
            onText: { _, text in onText(text) })
        return generations[0]
    }
}

/// The time of the first of several events, from any thread.
private final class FirstEvent: Sendable {
    private let first = Mutex<ContinuousClock.Instant?>(nil)
    func mark() { first.withLock { if $0 == nil { $0 = .now } } }
    var time: ContinuousClock.Instant? { first.withLock { $0 } }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
