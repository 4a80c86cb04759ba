import InferenceRuntime
import Testing
@testable import Personalization

@Suite struct PromptBuilderTests {
    let builder = PromptBuilder(model: WordModel(candidates: ["s"]), limits: .init(maxPairs: 3, maxTextTokens: 4))

    @Test func inferencePromptNumbersTheNewestPairsAndHasSections() throws {
        let signals = UserSignals(
            pairs: (0..<5).map { PreferencePair(prompt: "prompt \($0)", chosen: "good \($0)", rejected: "bad \($0)") },
            statements: ["I teach physics"],
            contents: [.init(text: "my own text", prompt: "write something")])
        let (turns, used) = try builder.inferenceTurns(for: signals)
        #expect(used.map(\.prompt) == ["prompt 2", "prompt 3", "prompt 4"])
        #expect(turns.count == 1 && turns[0].role == .user)
        let text = turns[0].content
        #expect(text.contains("### Example 1\nRequest: prompt 2\nPreferred response: good 2\nDispreferred response: bad 2"))
        #expect(text.contains("### Example 3\nRequest: prompt 4"))
        #expect(!text.contains("prompt 1"))
        #expect(text.contains("### What the user said about themselves\n- I teach physics"))
        #expect(text.contains("- In reply to \"write something\": my own text"))
        #expect(text.hasSuffix("Write only the summary."))
    }

    @Test func skimPromptReadsTheNewestPairsWithEachResponseSkimmedAndItsLength() throws {
        let builder = PromptBuilder(model: WordModel(candidates: ["s"]))
        let long = SkimTests.words(0..<60).joined(separator: " ")
        let signals = UserSignals(
            pairs: (0..<8).map { PreferencePair(prompt: "prompt \($0)", chosen: "good \($0)", rejected: long) },
            statements: ["I teach physics"])
        let (turns, used) = try builder.inferenceTurns(for: signals, skimmed: true)
        #expect(used.map(\.prompt) == (2..<8).map { "prompt \($0)" }, "the newest Skim.maxPairs pairs")
        let text = turns[0].content
        #expect(text.contains("with its length in words."))
        #expect(text.contains("### Example 1\nRequest: prompt 2\nPreferred response (2 words): good 2\nDispreferred response (60 words): \(Skim(long).shown)\n"))
        #expect(text.contains("### What the user said about themselves\n- I teach physics"))
        #expect(text.hasSuffix("Write only the summary."))
        #expect(PromptBuilder.version(of: .skim) == PromptBuilder.skimVersion)
        // The whole form is unchanged by the skim form's existence.
        let whole = try builder.inferenceTurns(for: signals).turns[0].content
        #expect(!whole.contains("words)") && whole.contains("Dispreferred response: \(long)\n"))
    }

    @Test func notePromptHoldsOnePairLabelledThenTheInstruction() {
        let builder = PromptBuilder(model: WordModel(candidates: ["x"]))
        let turns = builder.noteTurns(for: PreferencePair(prompt: "Why is the sky blue?", chosen: "Scattering.", rejected: "Because of air."))
        #expect(turns.count == 1 && turns[0].role == .user)
        let text = turns[0].content
        #expect(text.contains("Request: Why is the sky blue?\nPreferred response: Scattering.\nDispreferred response: Because of air."))
        #expect(text.hasSuffix("Write only that sentence."))
        #expect(PromptBuilder.version(of: .notes) == PromptBuilder.notesVersion && PromptBuilder.version(of: .whole) == PromptBuilder.version)
    }

    @Test func descriptionPromptHoldsOneResponseUnlabelledThenTheInstruction() {
        let builder = PromptBuilder(model: WordModel(candidates: ["x"]))
        let turns = builder.describeTurns(prompt: "Why is the sky blue?", response: "Scattering.")
        #expect(turns.count == 1 && turns[0].role == .user)
        let text = turns[0].content
        #expect(text.contains("Request: Why is the sky blue?\nResponse: Scattering.\n"))
        #expect(!text.contains("Preferred") && !text.contains("Dispreferred"))
        #expect(text.hasSuffix("by how it is written, not its topic."))
        #expect(PromptBuilder.version(of: .describe) == PromptBuilder.describeVersion)
    }

    @Test func textsAreCutToTheTokenBudget() throws {
        let signals = UserSignals(pairs: [PreferencePair(prompt: "one two three four five six", chosen: "a", rejected: "b")])
        let text = try builder.inferenceTurns(for: signals).turns[0].content
        #expect(text.contains("Request: one two three four\n"))
    }

    @Test func generatorPromptIsOneUserTurnSummaryFirstThenPrompt() {
        let turns = builder.generatorTurns(summary: "- Be brief.", prompt: "Why is the sky blue?")
        #expect(turns.count == 1 && turns[0].role == .user)
        let text = turns[0].content
        let summaryAt = text.range(of: "- Be brief.")!.lowerBound
        let promptAt = text.range(of: "Why is the sky blue?")!.lowerBound
        #expect(summaryAt < promptAt)
        #expect(text.hasSuffix("Request: Why is the sky blue?"))
        #expect(builder.bareTurns(prompt: "Why?") == [ChatMessage.user("Why?")])
    }

    @Test func rawSignalsBaselineHasNoInstructionToSummarize() {
        let signals = UserSignals(pairs: [PreferencePair(prompt: "q", chosen: "a", rejected: "b")])
        let raw = builder.rawSignalsText(signals)
        #expect(raw.contains("Preferred response: a"))
        #expect(!raw.contains("Write a concise summary"))
        #expect(builder.rawSignalsTurns(signals: signals, prompt: "new question")[0].content.hasSuffix("Request: new question"))
    }

    @Test func conversationIsPersonalizedInItsFirstUserTurnSoTurnsExtendEachOther() {
        let opening = [ChatMessage.system("Be kind."), ChatMessage.user("Hi")]
        let conversation = opening + [ChatMessage.assistant("Hello"), ChatMessage.user("Explain DNS")]
        let turns = builder.personalize(conversation: conversation, summary: "Likes analogies.")
        #expect(turns[0] == conversation[0] && turns[2] == conversation[2] && turns[3] == conversation[3])
        #expect(turns[1].content.hasPrefix("About the user's preferences:\nLikes analogies."))
        #expect(turns[1].content.hasSuffix("Request: Hi"))
        // The second turn's prompt begins with the first turn's.
        #expect(Array(turns.prefix(2)) == builder.personalize(conversation: opening, summary: "Likes analogies."))
        // One turn: the generator prompt POPI's reward scores.
        #expect(builder.personalize(conversation: [.user("Explain DNS")], summary: "Likes analogies.")
                == builder.generatorTurns(summary: "Likes analogies.", prompt: "Explain DNS"))
    }
}
