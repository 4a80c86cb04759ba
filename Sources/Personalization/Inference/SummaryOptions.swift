import InferenceRuntime
/// How a summary is inferred (best-of-N under POPI's reward).
public struct SummaryOptions: Sendable, Equatable {
    /// Candidates sampled; 1 gives the zero-shot summary.
    public var candidates: Int
    public var temperature: Double
    public var topP: Double
    public var maxSummaryTokens: Int
    public var seed: UInt64
    public var maxHeldOut: Int
    public var limits: PromptBuilder.Limits
    /// How the summarizer reads the signals: the form its adapter was trained for.
    public var form: SummaryForm

    public init(candidates: Int = 8, temperature: Double = 0.6, topP: Double = 1.0, maxSummaryTokens: Int = 160,
                seed: UInt64 = 1, maxHeldOut: Int = 4, limits: PromptBuilder.Limits = .init(), form: SummaryForm = .whole) {
        self.candidates = candidates
        self.temperature = temperature
        self.topP = topP
        self.maxSummaryTokens = maxSummaryTokens
        self.seed = seed
        self.maxHeldOut = maxHeldOut
        self.limits = limits
        self.form = form
    }

    func validate() throws {
        guard (1...64).contains(candidates) else { throw PersonalizationError.invalidOption("candidates must be 1...64") }
        guard temperature >= 0, temperature.isFinite else { throw PersonalizationError.invalidOption("temperature must be ≥ 0") }
        guard topP > 0, topP <= 1 else { throw PersonalizationError.invalidOption("top_p must be in (0, 1]") }
        guard (8...1024).contains(maxSummaryTokens) else { throw PersonalizationError.invalidOption("summary tokens must be 8...1024") }
        guard (1...64).contains(limits.maxPairs) else { throw PersonalizationError.invalidOption("max pairs must be 1...64") }
        guard (8...4096).contains(limits.maxTextTokens) else { throw PersonalizationError.invalidOption("text tokens must be 8...4096") }
        guard (8...4096).contains(limits.maxScoredTokens) else { throw PersonalizationError.invalidOption("scored tokens must be 8...4096") }
        guard maxHeldOut >= 1 else { throw PersonalizationError.invalidOption("held-out pairs must be ≥ 1") }
    }

    /// POPI's sampling (temperature 0.6, no top-k), with min-p 0.05 and a mild repetition penalty
    /// (1.1, as llama.cpp's server uses) to keep a small model out of its long tail and its loops.
    var sampling: SamplingParameters {
        SamplingParameters(maxTokens: maxSummaryTokens, temperature: Float(temperature), topK: 0, topP: Float(topP), minP: 0.05,
                           repetitionPenalty: 1.1, seed: seed)
    }
}
