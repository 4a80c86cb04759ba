import InferenceRuntime

extension SamplingParameters {
    /// openapi.yaml's `SamplingFields`, shared by `/generate` and `/v1/chat/completions` (which
    /// also takes OpenAI's newer `max_completion_tokens`).
    init(_ fields: FieldReader, maxTokensLimit: Int, maxTokensKeys: [String] = ["max_tokens"]) throws {
        var maxTokens = 256
        for key in maxTokensKeys {
            if let value = try fields.integer(key, in: 1...maxTokensLimit) { maxTokens = value }
        }
        self.init(
            maxTokens: maxTokens,
            temperature: Float(try fields.number("temperature", in: 0...2) ?? 0.7),
            topP: Float(try fields.number("top_p", in: 0.000_001...1) ?? 0.95),
            seed: UInt64(try fields.integer("seed", in: 0...Int(1 << 53)) ?? Int.random(in: 0...Int(Int32.max))))
    }
}
