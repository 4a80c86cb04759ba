public import InferenceRuntime
/// Builds POPI's prompts. The wording is versioned (`version`): summaries are optimized against
/// a prompt, so any change of wording must bump it.
///
/// - Inference prompt: the user's signals as numbered examples (prompt, preferred, dispreferred),
///   statements and user-written content in their own sections, then the instruction to write a
///   concise, structured summary that generalizes. It never sees the question to be answered, and
///   names no kinds of preference: users differ in ways no list foresees, and a trained
///   summarizer finds them in the examples.
/// - Skim prompt (`SummaryForm.skim`): the inference prompt of the newest `Skim.maxPairs` pairs,
///   each response shown by its opening and its close with its length (`Skim`). Versioned as
///   `skimVersion`.
/// - Note prompt (`SummaryForm.notes`): one example pair, and the instruction to say in one
///   sentence how the preferred response is written differently. Versioned as `notesVersion`.
/// - Description prompt (`SummaryForm.describe`): one request and one response, and the
///   instruction to describe in one sentence the user who would prefer that response, by how it
///   is written. Versioned as `describeVersion`.
/// - Generator prompt: one user turn with the summary section, the instruction to personalize,
///   then the user's prompt. No system message of popi's own.
public struct PromptBuilder: Sendable {
    public static let version = "popi-v2"
    public static let notesVersion = "popi-notes-v1"
    public static let describeVersion = "popi-describe-v1"
    public static let skimVersion = "popi-skim-v1"

    /// The version of the prompts a summary of `form` is written with.
    public static func version(of form: SummaryForm) -> String {
        switch form {
        case .whole: version
        case .notes: notesVersion
        case .describe: describeVersion
        case .skim: skimVersion
        }
    }

    public struct Limits: Sendable, Equatable {
        /// At most this many pairs in the inference prompt (the newest).
        public var maxPairs: Int
        /// Each prompt / response / statement is cut to this many tokens.
        public var maxTextTokens: Int
        /// Tokens kept free after the inference prompt for the summary itself.
        public var summaryTokens: Int
        /// Held-out prompts and responses are scored cut to this many tokens each, so one very
        /// long text cannot overflow the context.
        public var maxScoredTokens: Int

        public init(maxPairs: Int = 8, maxTextTokens: Int = 192, summaryTokens: Int = 160, maxScoredTokens: Int = 1024) {
            self.maxPairs = maxPairs
            self.maxTextTokens = maxTextTokens
            self.summaryTokens = summaryTokens
            self.maxScoredTokens = maxScoredTokens
        }
    }

    public let model: any PreferenceModel
    public let limits: Limits

    public init(model: any PreferenceModel, limits: Limits = Limits()) {
        self.model = model
        self.limits = limits
    }

    // MARK: inference

    /// The inference prompt and the pairs it holds (the newest first-come order preserved:
    /// examples are numbered oldest to newest). Pairs are dropped oldest first until the prompt
    /// and the summary budget fit the model's context. `skimmed`: the skim form's prompt.
    public func inferenceTurns(for signals: UserSignals, skimmed: Bool = false) throws -> (turns: [ChatMessage], pairs: [PreferencePair]) {
        var pairs = Array(signals.pairs.suffix(skimmed ? min(limits.maxPairs, Skim.maxPairs) : limits.maxPairs))
        while true {
            let text = inferenceText(pairs: pairs, statements: signals.statements, contents: signals.contents, skimmed: skimmed)
            let turns = [ChatMessage.user(text)]
            if try model.promptTokens(turns).count + limits.summaryTokens <= model.contextLength {
                return (turns, pairs)
            }
            guard !pairs.isEmpty else { throw PersonalizationError.promptTooLong }
            pairs.removeFirst()
        }
    }

    func inferenceText(pairs: [PreferencePair], statements: [String], contents: [UserSignals.Content], skimmed: Bool = false) -> String {
        signalsText(pairs: pairs, statements: statements, contents: contents, skimmed: skimmed) + """

        Write a concise summary of this user's preferences as a short bulleted list. Say what the \
        preferred responses have in common that the dispreferred ones lack: how responses should be \
        written for this user, not the topics of the examples, so that it applies to any new request. \
        Write only the summary.
        """
    }

    /// The note prompt of one example pair (`SummaryForm.notes`).
    public func noteTurns(for pair: PreferencePair) -> [ChatMessage] {
        [ChatMessage.user("""
            A user compared two responses to the same request and preferred one of them.

            Request: \(cut(pair.prompt))
            Preferred response: \(cut(pair.chosen))
            Dispreferred response: \(cut(pair.rejected))

            In one sentence, say how this user likes responses to be written: what the preferred \
            response does that the dispreferred one does not, not its topic. Write only that sentence.
            """)]
    }

    /// The description prompt of one response to a request (`SummaryForm.describe`): asked of
    /// both responses of an example pair, it describes the user who would prefer each.
    public func describeTurns(prompt: String, response: String) -> [ChatMessage] {
        [ChatMessage.user("""
            Here is a request and a response to it.

            Request: \(cut(prompt))
            Response: \(cut(response))

            In one sentence, describe the kind of user who would prefer this response, by how it \
            is written, not its topic.
            """)]
    }

    /// The signals serialized: numbered examples, then statements, then user-written content.
    /// `skimmed`: each response shown by its opening and its close, with its length (`Skim`).
    func signalsText(pairs: [PreferencePair], statements: [String], contents: [UserSignals.Content], skimmed: Bool = false) -> String {
        var text = "Here is what one user has shown about their preferences.\n"
        if !pairs.isEmpty {
            text += "\nIn each example the user compared two responses to the same request and preferred one of them.\n"
            if skimmed { text += "Each response is shown by its opening and its close, with its length in words.\n" }
            func response(_ label: String, _ response: String) -> String {
                guard skimmed else { return "\(label): \(cut(response))\n" }
                let skim = Skim(response)
                return "\(label) (\(skim.words) words): \(cut(skim.shown))\n"
            }
            for (index, pair) in pairs.enumerated() {
                text += "\n### Example \(index + 1)\n"
                text += "Request: \(cut(pair.prompt))\n"
                text += response("Preferred response", pair.chosen)
                text += response("Dispreferred response", pair.rejected)
            }
        }
        if !statements.isEmpty {
            text += "\n### What the user said about themselves\n"
            for statement in statements.suffix(limits.maxPairs) { text += "- \(cut(statement))\n" }
        }
        if !contents.isEmpty {
            text += "\n### Texts the user wrote\n"
            for content in contents.suffix(limits.maxPairs) {
                if let prompt = content.prompt {
                    text += "- In reply to \"\(cut(prompt))\": \(cut(content.text))\n"
                } else {
                    text += "- \(cut(content.text))\n"
                }
            }
        }
        return text
    }

    /// A pair as it is scored: prompt and responses cut to `maxScoredTokens`.
    public func scoredPair(_ pair: PreferencePair) -> PreferencePair {
        let cap = limits.maxScoredTokens
        return PreferencePair(prompt: model.truncate(pair.prompt, maxTokens: cap),
                              chosen: model.truncate(pair.chosen, maxTokens: cap),
                              rejected: model.truncate(pair.rejected, maxTokens: cap))
    }

    // MARK: generation

    /// The personalized prompt: summary section, instruction, then the user's prompt.
    public func generatorTurns(summary: String, prompt: String) -> [ChatMessage] {
        [ChatMessage.user(generatorText(section: "About the user's preferences:\n\(summary)", prompt: prompt))]
    }

    /// Baseline: the prompt alone, with no information about the user.
    public func bareTurns(prompt: String) -> [ChatMessage] {
        [ChatMessage.user(prompt)]
    }

    /// Baseline: the user's raw signals in context instead of a summary.
    public func rawSignalsTurns(signals: UserSignals, prompt: String) -> [ChatMessage] {
        [ChatMessage.user(generatorText(section: rawSignalsText(signals), prompt: prompt))]
    }

    /// Personalizes a conversation: the summary section and instruction go in front of the first
    /// user turn (for one turn, the prompt being answered: the generator prompt POPI scores).
    /// Other turns are kept as they are, so each turn's prompt begins with the previous turn's,
    /// and the next request reuses its KV (the engine's prefix cache, or an upstream's prompt cache).
    public func personalize(conversation: [ChatMessage], summary: String) -> [ChatMessage] {
        guard let first = conversation.firstIndex(where: { $0.role == .user }) else { return conversation }
        var turns = conversation
        turns[first].content = generatorText(section: "About the user's preferences:\n\(summary)",
                                             prompt: conversation[first].content)
        return turns
    }

    /// The raw signals as they would be sent in context (the conditioning text the summary
    /// replaces; its token count is the "raw-signal tokens" of a summary).
    public func rawSignalsText(_ signals: UserSignals) -> String {
        signalsText(pairs: Array(signals.pairs.suffix(limits.maxPairs)), statements: signals.statements,
                    contents: signals.contents)
    }

    private func generatorText(section: String, prompt: String) -> String {
        "\(section)\n\nWrite a response to the request below that suits these preferences.\n\nRequest: \(prompt)"
    }

    private func cut(_ text: String) -> String {
        model.truncate(text, maxTokens: limits.maxTextTokens)
    }
}
