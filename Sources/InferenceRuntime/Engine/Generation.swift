/// A request to generate `count` independent continuations of one prompt (best-of-N sampling
/// prefills the prompt once and decodes the samples together).
public struct GenerationRequest: Sendable {
    public var prompt: Prompt
    public var sampling: SamplingParameters
    public var count: Int
    /// A LoRA adapter for the prompt and every sample, or nil for the base model. It must not
    /// change while the request runs.
    public var adapter: LoRAAdapter?
    /// Keeps this prompt's KV for its owner's next request, and reuses what the owner's kept
    /// prompt shares with this one (nil: neither).
    public var prefixCache: PrefixCacheKey?

    public static let maxCount = 64

    public init(prompt: Prompt, sampling: SamplingParameters = SamplingParameters(), count: Int = 1,
                adapter: LoRAAdapter? = nil, prefixCache: PrefixCacheKey? = nil) {
        self.prompt = prompt
        self.sampling = sampling
        self.count = count
        self.adapter = adapter
        self.prefixCache = prefixCache
    }
}

public enum FinishReason: String, Sendable, Equatable {
    /// The model ended its turn (end-of-turn or end-of-text token).
    case endOfTurn = "stop"
    /// A stop string appeared.
    case stopString = "stop_string"
    /// `maxTokens` were generated, or the context is full.
    case length
    /// The caller cancelled the request.
    case cancelled
}

/// One generated continuation.
public struct Generation: Sendable, Equatable {
    public var text: String
    /// Generated token ids (without the end-of-turn token; with any stop string's tokens).
    public var tokens: [Int32]
    public var finishReason: FinishReason
    public var promptTokenCount: Int
    /// Prompt tokens whose KV came from the owner's kept prompt instead of being computed.
    public var cachedPromptTokenCount: Int
    /// The seed this sample's generator started from.
    public var seed: UInt64

    public init(text: String, tokens: [Int32], finishReason: FinishReason, promptTokenCount: Int,
                cachedPromptTokenCount: Int = 0, seed: UInt64) {
        self.text = text
        self.tokens = tokens
        self.finishReason = finishReason
        self.promptTokenCount = promptTokenCount
        self.cachedPromptTokenCount = cachedPromptTokenCount
        self.seed = seed
    }
}
