public import InferenceRuntime

/// What POPI needs from a language model: token counting, teacher-forced log-probabilities,
/// batched sampling and streamed generation, all on chat prompts.
///
/// The in-process runtime implements it (`RuntimeModel`); the engine never sees HTTP or SQL.
public protocol PreferenceModel: Sendable {
    /// Identifies the weights, e.g. the GGUF file name; recorded with every summary.
    var modelID: String { get }
    var contextLength: Int { get }

    /// Tokens of `text` tokenized as plain text (special-token text is not special).
    func tokenCount(_ text: String) -> Int
    /// The longest prefix of `text` of at most `maxTokens` tokens.
    func truncate(_ text: String, maxTokens: Int) -> String
    /// The chat-templated prompt's tokens, up to and including the assistant header (user text
    /// is never read as special tokens). `generate` takes them back as `.tokens`, so a prompt
    /// checked for its length is not templated and tokenized again.
    func promptTokens(_ turns: [ChatMessage]) throws -> [Int32]

    /// For each response, log p(response tokens + end-of-turn | prompt) summed, after one
    /// shared prompt (computed once).
    func logProbabilities(of responses: [String], after turns: [ChatMessage]) async throws -> [Double]

    /// Several prompts' responses scored together, so the runtime can batch them.
    func logProbabilities(batch: [ScoringItem]) async throws -> [[Double]]

    /// `count` samples after one prompt, as one batch. Sample `i` is seeded with `seed + i`, so
    /// sample 0 does not depend on `count`.
    func sample(after turns: [ChatMessage], count: Int, settings: SamplingParameters) async throws -> SampleBatch

    /// One generation, its text streamed to `onText` in UTF-8-safe pieces. Stops early when the
    /// calling task is cancelled. With a `prefixCache` key, a model that can keeps the prompt for
    /// the key's owner and reuses what their previous prompt shares with this one.
    func generate(_ prompt: Prompt, settings: SamplingParameters, prefixCache: PrefixCacheKey?,
                  onText: @escaping @Sendable (String) -> Void) async throws -> Generation
}

/// Responses to score after one prompt.
public struct ScoringItem: Sendable, Equatable {
    public var turns: [ChatMessage]
    public var responses: [String]

    public init(turns: [ChatMessage], responses: [String]) {
        self.turns = turns
        self.responses = responses
    }
}

extension PreferenceModel {
    public func generate(_ prompt: Prompt, settings: SamplingParameters,
                         onText: @escaping @Sendable (String) -> Void) async throws -> Generation {
        try await generate(prompt, settings: settings, prefixCache: nil, onText: onText)
    }

    /// One prompt at a time, for models that gain nothing from batching.
    public func logProbabilities(batch: [ScoringItem]) async throws -> [[Double]] {
        var results: [[Double]] = []
        for item in batch { results.append(try await logProbabilities(of: item.responses, after: item.turns)) }
        return results
    }
}

public struct SampleBatch: Sendable {
    public var generations: [Generation]
    /// Time spent reading the prompt, and generating the samples.
    public var prefillSeconds: Double
    public var decodeSeconds: Double

    public init(generations: [Generation], prefillSeconds: Double, decodeSeconds: Double) {
        self.generations = generations
        self.prefillSeconds = prefillSeconds
        self.decodeSeconds = decodeSeconds
    }
}
