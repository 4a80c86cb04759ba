/// How to pick tokens and when to stop. Defaults follow llama.cpp's (temperature 0.8, top-k 40,
/// top-p 0.95, min-p 0.05, no penalties). Temperature 0 (or below 1e-30) is greedy decoding.
///
/// Order of application: penalties, then greedy if temperature is 0, else temperature, top-k,
/// top-p, min-p (the last three on the tempered distribution), then a draw from the seeded
/// generator. Penalties look at the last `penaltyWindow` tokens of the prompt and the output.
public struct SamplingParameters: Sendable, Equatable {
    public var maxTokens: Int
    public var temperature: Float
    /// Keep only the k most likely tokens; 0 keeps all.
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p, in (0, 1].
    public var topP: Float
    /// Drop tokens less likely than minP times the most likely one, in [0, 1).
    public var minP: Float
    /// Divides positive logits (multiplies negative ones) of recent tokens; 1 disables.
    public var repetitionPenalty: Float
    /// Subtracted from a recent token's logit once per occurrence.
    public var frequencyPenalty: Float
    /// Subtracted from a recent token's logit once.
    public var presencePenalty: Float
    public var penaltyWindow: Int
    /// Same seed and input give the same output; nil draws a seed from the system.
    public var seed: UInt64?
    /// Generation ends before any of these strings (not included in the output).
    public var stop: [String]

    public static let greedy = SamplingParameters(temperature: 0)

    public init(maxTokens: Int = 256, temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05,
                repetitionPenalty: Float = 1, frequencyPenalty: Float = 0, presencePenalty: Float = 0,
                penaltyWindow: Int = 64, seed: UInt64? = nil, stop: [String] = []) {
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.penaltyWindow = penaltyWindow
        self.seed = seed
        self.stop = stop
    }

    /// Longest accepted stop string, in bytes.
    public static let maxStopLength = 256
    public static let maxStopCount = 16

    public func validate() throws(InferenceError) {
        func fail(_ name: String, _ reason: String) -> InferenceError { .invalidParameter(name: name, reason: reason) }
        guard maxTokens > 0 else { throw fail("max_tokens", "must be at least 1, got \(maxTokens)") }
        guard temperature.isFinite, temperature >= 0 else { throw fail("temperature", "must be a number >= 0, got \(temperature)") }
        guard topK >= 0 else { throw fail("top_k", "must be >= 0, got \(topK)") }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw fail("top_p", "must be in (0, 1], got \(topP)") }
        guard minP.isFinite, minP >= 0, minP < 1 else { throw fail("min_p", "must be in [0, 1), got \(minP)") }
        guard repetitionPenalty.isFinite, repetitionPenalty > 0 else {
            throw fail("repetition_penalty", "must be a number > 0, got \(repetitionPenalty)")
        }
        guard frequencyPenalty.isFinite, abs(frequencyPenalty) <= 2 else {
            throw fail("frequency_penalty", "must be in [-2, 2], got \(frequencyPenalty)")
        }
        guard presencePenalty.isFinite, abs(presencePenalty) <= 2 else {
            throw fail("presence_penalty", "must be in [-2, 2], got \(presencePenalty)")
        }
        guard penaltyWindow >= 0 else { throw fail("penalty_window", "must be >= 0, got \(penaltyWindow)") }
        guard stop.count <= Self.maxStopCount else { throw fail("stop", "at most \(Self.maxStopCount) strings") }
        for s in stop where s.isEmpty || s.utf8.count > Self.maxStopLength {
            throw fail("stop", "each string must have 1 to \(Self.maxStopLength) bytes")
        }
    }
}
