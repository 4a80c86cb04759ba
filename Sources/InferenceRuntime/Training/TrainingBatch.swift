/// Sequences for one teacher-forced pass of training: groups of continuations that share a prompt
/// (a GRPO group is one prompt and its G sampled summaries; SFT is one group with one
/// continuation). A group's prompt runs once; every continuation attends to it.
///
/// Only continuation tokens are predicted: the log-probability of continuation token k is
/// conditioned on the prompt and tokens 0..<k of the same continuation.
public struct TrainingBatch: Sendable, Equatable {
    public struct Group: Sendable, Equatable {
        public var prompt: [Int32]
        public var continuations: [[Int32]]

        public init(prompt: [Int32], continuations: [[Int32]]) {
            self.prompt = prompt
            self.continuations = continuations
        }
    }

    public var groups: [Group]

    public init(groups: [Group]) { self.groups = groups }

    /// Tokens that run through the model: each prompt once, then each continuation.
    public var tokenCount: Int {
        groups.reduce(0) { $0 + $1.prompt.count + $1.continuations.reduce(0) { $0 + $1.count } }
    }

    /// Tokens whose log-probabilities the pass computes.
    public var predictedCount: Int {
        groups.reduce(0) { $0 + $1.continuations.reduce(0) { $0 + $1.count } }
    }

    /// Checks the batch against a model: non-empty prompts and continuations, known token ids,
    /// every sequence within the context.
    func validate(vocabularySize: Int, contextLength: Int, maxTokens: Int) throws(InferenceError) {
        guard !groups.isEmpty else { throw .invalidParameter(name: "batch", reason: "has no groups") }
        guard tokenCount <= maxTokens else {
            throw .invalidParameter(name: "batch", reason: "has \(tokenCount) tokens, more than the trainer's \(maxTokens)")
        }
        for group in groups {
            guard !group.prompt.isEmpty else { throw .emptyPrompt }
            guard !group.continuations.isEmpty else {
                throw .invalidParameter(name: "batch", reason: "a group has no continuation")
            }
            for continuation in group.continuations {
                guard !continuation.isEmpty else {
                    throw .invalidParameter(name: "batch", reason: "a continuation is empty")
                }
                let length = group.prompt.count + continuation.count
                guard length <= contextLength else { throw .contextOverflow(needed: length, limit: contextLength) }
            }
            for token in group.prompt + group.continuations.joined() where token < 0 || Int(token) >= vocabularySize {
                throw .invalidTokenID(token, vocabularySize: vocabularySize)
            }
        }
    }
}
