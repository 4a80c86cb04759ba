/// Responses to score after one shared prompt: log-probabilities of each response's tokens
/// (its text, then the end-of-turn token) as the model's answer to the prompt.
public struct ScoreRequest: Sendable {
    public var prompt: Prompt
    public var responses: [String]
    /// A LoRA adapter to score with, or nil for the base model. It must not change while the
    /// request runs.
    public var adapter: LoRAAdapter?

    public static let maxResponses = 256

    public init(prompt: Prompt, responses: [String], adapter: LoRAAdapter? = nil) {
        self.prompt = prompt
        self.responses = responses
        self.adapter = adapter
    }
}

/// Teacher-forced log-probabilities of one response.
public struct ResponseScore: Sendable, Equatable {
    public var tokens: [Int32]
    /// Natural-log probability of each token given everything before it.
    public var logprobs: [Double]
    public var total: Double { logprobs.reduce(0, +) }
    public var mean: Double { logprobs.isEmpty ? 0 : total / Double(logprobs.count) }
}
