/// Hyperparameters of a training run of the summarizer (`popi train summarizer`): GRPO by
/// default, or best-of-N distillation (`method`).
///
/// From the paper: 8 samples per user at temperature 0.6, KL coefficient 2e-3, advantages not
/// scaled by the group's spread. For LoRA on a 135M model on 2 cores: a step of 2 users (16
/// summaries) takes about 3 minutes, so a run affords about a hundred steps, not the paper's
/// thousands; hence a learning rate well above its full fine-tune's 1e-6 (LoRA's best rate is
/// about ten times full fine-tuning's, and fewer steps call for larger ones). A cap of 128
/// summary tokens: untrained, a third to three quarters of the samples reach it (measured on
/// the training split), so the cap's lowest-reward rule teaches brevity early.
public struct GRPOSettings: AdapterRunSettings {
    public var steps: Int
    public var usersPerStep: Int
    public var groupSize: Int
    public var learningRate: Double
    public var warmupSteps: Int
    public var rank: Int
    public var alpha: Double
    public var klCoefficient: Double
    public var temperature: Double
    /// The cap on a summary's tokens; a summary that reaches it gets its group's lowest reward.
    public var maxSummaryTokens: Int
    public var seed: UInt64
    /// Checkpoint every this many steps (and after the last).
    public var checkpointEvery: Int
    /// Users set aside from training (a seeded choice) on whom the adapter's zero-shot summary is
    /// scored after step 1, every `validateEvery` steps and after the last; 0 for none. The
    /// run keeps the adapter that scored best beside the last one.
    public var validationUsers: Int
    public var validateEvery: Int
    /// Weight w of the contrast term: a summary's reward for its advantage is r(s) on its user's
    /// held-out pairs minus w · r(s) on the held-out pairs of the step's next user. A summary that
    /// widens any user's margins (a generic one) then earns nothing for it; only what fits its own
    /// user counts. 0 (the default) is POPI's reward as the paper has it.
    public var contrast: Double
    /// GRPO (the paper's, the default) or best-of-N distillation; see `SummarizerMethod`.
    public var method: SummarizerMethod
    /// SHA-256 (hex) of the adapter the run starts from instead of a fresh one (nil: fresh), so
    /// that a resume with another start is refused. Its rank and alpha are the run's.
    public var startAdapter: String?
    /// Whether a whole-summary method reads the skim form (`SummaryForm.skim`) instead of the whole one.
    public var skim: Bool

    /// The form the trained adapter writes summaries in.
    public var form: SummaryForm { skim ? .skim : method.form }

    public init(steps: Int = 100, usersPerStep: Int = 2, groupSize: Int = 8, learningRate: Double = 1e-4,
                warmupSteps: Int = 5, rank: Int = 16, alpha: Double = 32, klCoefficient: Double = 2e-3,
                temperature: Double = 0.6, maxSummaryTokens: Int = 128, seed: UInt64 = 1, checkpointEvery: Int = 5,
                validationUsers: Int = 0, validateEvery: Int = 10, contrast: Double = 0,
                method: SummarizerMethod = .grpo, startAdapter: String? = nil, skim: Bool = false) {
        self.steps = steps
        self.usersPerStep = usersPerStep
        self.groupSize = groupSize
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.rank = rank
        self.alpha = alpha
        self.klCoefficient = klCoefficient
        self.temperature = temperature
        self.maxSummaryTokens = maxSummaryTokens
        self.seed = seed
        self.checkpointEvery = checkpointEvery
        self.validationUsers = validationUsers
        self.validateEvery = validateEvery
        self.contrast = contrast
        self.method = method
        self.startAdapter = startAdapter
        self.skim = skim
    }

    private enum CodingKeys: String, CodingKey {
        case steps, usersPerStep, groupSize, learningRate, warmupSteps, rank, alpha, klCoefficient, temperature
        case maxSummaryTokens, seed, checkpointEvery, validationUsers, validateEvery, contrast, method, startAdapter, skim
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(steps: try c.decode(Int.self, forKey: .steps), usersPerStep: try c.decode(Int.self, forKey: .usersPerStep),
                  groupSize: try c.decode(Int.self, forKey: .groupSize),
                  learningRate: try c.decode(Double.self, forKey: .learningRate),
                  warmupSteps: try c.decode(Int.self, forKey: .warmupSteps), rank: try c.decode(Int.self, forKey: .rank),
                  alpha: try c.decode(Double.self, forKey: .alpha),
                  klCoefficient: try c.decode(Double.self, forKey: .klCoefficient),
                  temperature: try c.decode(Double.self, forKey: .temperature),
                  maxSummaryTokens: try c.decode(Int.self, forKey: .maxSummaryTokens),
                  seed: try c.decode(UInt64.self, forKey: .seed),
                  checkpointEvery: try c.decode(Int.self, forKey: .checkpointEvery),
                  validationUsers: try c.decode(Int.self, forKey: .validationUsers),
                  validateEvery: try c.decode(Int.self, forKey: .validateEvery),
                  contrast: try c.decodeIfPresent(Double.self, forKey: .contrast) ?? 0,
                  method: try c.decodeIfPresent(SummarizerMethod.self, forKey: .method) ?? .grpo,
                  startAdapter: try c.decodeIfPresent(String.self, forKey: .startAdapter),
                  skim: try c.decodeIfPresent(Bool.self, forKey: .skim) ?? false)
    }

    /// `contrast`, `method`, `startAdapter` and `skim` are written only when not their defaults, so the settings of runs
    /// from before they existed (which a resume compares as text) are unchanged.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(steps, forKey: .steps)
        try c.encode(usersPerStep, forKey: .usersPerStep)
        try c.encode(groupSize, forKey: .groupSize)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(warmupSteps, forKey: .warmupSteps)
        try c.encode(rank, forKey: .rank)
        try c.encode(alpha, forKey: .alpha)
        try c.encode(klCoefficient, forKey: .klCoefficient)
        try c.encode(temperature, forKey: .temperature)
        try c.encode(maxSummaryTokens, forKey: .maxSummaryTokens)
        try c.encode(seed, forKey: .seed)
        try c.encode(checkpointEvery, forKey: .checkpointEvery)
        try c.encode(validationUsers, forKey: .validationUsers)
        try c.encode(validateEvery, forKey: .validateEvery)
        if contrast != 0 { try c.encode(contrast, forKey: .contrast) }
        if method != .grpo { try c.encode(method, forKey: .method) }
        if let startAdapter { try c.encode(startAdapter, forKey: .startAdapter) }
        if skim { try c.encode(skim, forKey: .skim) }
    }

    func validate() throws(PersonalizationError) {
        func check(_ ok: Bool, _ message: String) throws(PersonalizationError) {
            if !ok { throw PersonalizationError.invalidOption(message) }
        }
        try check((1...100_000).contains(steps), "steps must be 1...100000")
        try check((1...64).contains(usersPerStep), "users per step must be 1...64")
        if method == .grpo {
            try check((2...64).contains(groupSize), "group size must be 2...64 (GRPO compares samples within a group)")
        } else {
            try check((1...64).contains(groupSize), "group size must be 1...64")
        }
        try check(learningRate.isFinite && learningRate > 0 && learningRate < 1, "learning rate must be in (0, 1)")
        try check(warmupSteps >= 0 && warmupSteps <= steps, "warm-up steps must be 0...steps")
        try check((1...256).contains(rank), "rank must be 1...256")
        try check(alpha.isFinite && alpha > 0, "alpha must be > 0")
        try check(klCoefficient.isFinite && klCoefficient >= 0, "KL coefficient must be ≥ 0")
        try check(temperature.isFinite && temperature > 0 && temperature <= 2, "temperature must be in (0, 2]")
        try check((8...1024).contains(maxSummaryTokens), "summary tokens must be 8...1024")
        try check((1...100_000).contains(checkpointEvery), "checkpoint interval must be 1...100000")
        try check((0...10_000).contains(validationUsers), "validation users must be 0...10000")
        try check((1...100_000).contains(validateEvery), "validation interval must be 1...100000")
        try check(contrast.isFinite && (0...1).contains(contrast), "contrast must be in [0, 1]")
        try check(!skim || method.form == .whole, "--skim reads the whole-summary prompt skimmed; --method \(method.rawValue) writes the \(method.form.rawValue) form")
        try check(contrast == 0 || usersPerStep >= 2, "a contrast needs at least 2 users per step (each is contrasted with the next)")
    }
}
