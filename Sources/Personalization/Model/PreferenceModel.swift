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
    /// Tokens of the chat-templated prompt, up to and including the assistant header.
    func promptTokenCount(_ turns: [ChatTurn]) throws -> Int

    /// For each response, log p(response tokens + end-of-turn | prompt) summed, after one
    /// shared prompt (computed once).
    func logProbabilities(of responses: [String], after turns: [ChatTurn]) async throws -> [Double]

    /// `count` samples after one prompt, as one batch. Sample `i` is seeded with `seed + i`, so
    /// sample 0 does not depend on `count`.
    func sample(after turns: [ChatTurn], count: Int, settings: SamplingSettings) async throws -> SampleBatch

    /// One generation, its text streamed to `onText` in UTF-8-safe pieces. Stops early when the
    /// calling task is cancelled.
    func generate(after turns: [ChatTurn], settings: SamplingSettings,
                  onText: @escaping @Sendable (String) -> Void) async throws -> Completion
}

/// Defaults follow llama.cpp's (top-k 40, top-p 0.95, min-p 0.05); temperature 0 is greedy.
public struct SamplingSettings: Sendable, Equatable {
    public var maxTokens: Int
    public var temperature: Double
    public var topP: Double
    public var topK: Int
    public var minP: Double
    public var repetitionPenalty: Double
    public var seed: UInt64
    public var stop: [String]

    public init(maxTokens: Int = 256, temperature: Double = 0.7, topP: Double = 0.95, topK: Int = 40,
                minP: Double = 0.05, repetitionPenalty: Double = 1, seed: UInt64 = 1, stop: [String] = []) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
        self.stop = stop
    }
}

public struct Completion: Sendable, Equatable {
    public enum FinishReason: String, Sendable { case stop, length, cancelled }
    public var text: String
    public var promptTokens: Int
    public var completionTokens: Int
    public var finishReason: FinishReason

    public init(text: String, promptTokens: Int, completionTokens: Int, finishReason: FinishReason) {
        self.text = text
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.finishReason = finishReason
    }
}

public struct SampleBatch: Sendable {
    public var completions: [Completion]
    /// Time spent reading the prompt, and generating the samples.
    public var prefillSeconds: Double
    public var decodeSeconds: Double

    public init(completions: [Completion], prefillSeconds: Double, decodeSeconds: Double) {
        self.completions = completions
        self.prefillSeconds = prefillSeconds
        self.decodeSeconds = decodeSeconds
    }
}
