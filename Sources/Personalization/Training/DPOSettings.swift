/// Hyperparameters of DPO of the generator (`popi train generator`): the paper's β = 0.01 and the
/// base as the reference.
public struct DPOSettings: AdapterRunSettings {
    public var steps: Int
    /// Preference pairs per step.
    public var pairsPerStep: Int
    public var learningRate: Double
    public var warmupSteps: Int
    public var beta: Double
    public var rank: Int
    public var alpha: Double
    /// Seeds the adapter's start, the pairs' order and the summaries the generator is trained on.
    public var seed: UInt64
    public var checkpointEvery: Int
    /// Cap on the tokens of the summaries written for training.
    public var maxSummaryTokens: Int

    public init(steps: Int = 150, pairsPerStep: Int = 8, learningRate: Double = 5e-5, warmupSteps: Int = 5, beta: Double = 0.01,
                rank: Int = 16, alpha: Double = 32, seed: UInt64 = 1, checkpointEvery: Int = 10, maxSummaryTokens: Int = 128) {
        self.steps = steps
        self.pairsPerStep = pairsPerStep
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.beta = beta
        self.rank = rank
        self.alpha = alpha
        self.seed = seed
        self.checkpointEvery = checkpointEvery
        self.maxSummaryTokens = maxSummaryTokens
    }

    func validate() throws(PersonalizationError) {
        func check(_ ok: Bool, _ message: String) throws(PersonalizationError) {
            if !ok { throw PersonalizationError.invalidOption(message) }
        }
        try check((1...100_000).contains(steps), "steps must be 1...100000")
        try check((1...256).contains(pairsPerStep), "pairs per step must be 1...256")
        try check(learningRate.isFinite && learningRate > 0 && learningRate < 1, "learning rate must be in (0, 1)")
        try check(warmupSteps >= 0 && warmupSteps <= steps, "warm-up steps must be 0...steps")
        try check(beta.isFinite && beta > 0, "beta must be > 0")
        try check((1...256).contains(rank), "rank must be 1...256")
        try check(alpha.isFinite && alpha > 0, "alpha must be > 0")
        try check((1...100_000).contains(checkpointEvery), "checkpoint interval must be 1...100000")
        try check((8...1024).contains(maxSummaryTokens), "summary tokens must be 8...1024")
    }
}
