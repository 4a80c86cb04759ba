import Testing
@testable import Personalization

@Suite struct SummaryOptimizerTests {
    /// A user who always chose the short answer.
    static let shortLover = UserSignals(pairs: (0..<8).map {
        PreferencePair(prompt: "question \($0)", chosen: "brief answer", rejected: "a much longer answer with many words in it")
    })

    @Test func bestOfNPicksTheHighestRewardAndRecordsEverything() async throws {
        let model = WordModel(candidates: ["likes detail", "prefers short answers", "", "likes lists"])
        let optimizer = SummaryOptimizer(model: model, options: .init(candidates: 4, seed: 0))
        let result = try await optimizer.infer(from: Self.shortLover)
        #expect(result.text == "prefers short answers")
        #expect(result.chosenIndex == 1)
        #expect(result.candidatesTried == 4)
        #expect(result.heldOutCount == 2)
        #expect(result.contextPairCount == 6)
        #expect(result.accuracy == 1)
        #expect(result.candidates[2].reward == nil, "empty candidates are not scored")
        #expect(result.candidates[0].accuracy == 0)
        let best = result.candidates.compactMap(\.reward).max()
        #expect(result.reward == best)
        #expect(result.reward! >= result.candidates[0].reward!, "best-of-N is never worse than the zero-shot candidate")
        #expect(result.summaryTokens == 3)
        #expect(result.rawSignalTokens > result.summaryTokens)
        #expect(result.promptVersion == PromptBuilder.version)
        #expect(result.modelID == "word-model")
        #expect(result.note == nil)
    }

    @Test func bareScoresAreComputedOncePerPair() async throws {
        let model = WordModel(candidates: ["a", "b", "c"])
        _ = try await SummaryOptimizer(model: model, options: .init(candidates: 3)).infer(from: Self.shortLover)
        // 2 held-out pairs: 2 bare calls + 3 candidates × 2 pairs.
        #expect(model.calls.count == 2 + 3 * 2)
    }

    @Test func oneCandidateReadsEveryPairAndIsNotScored() async throws {
        let model = WordModel(candidates: ["x one"])
        let one = try await SummaryOptimizer(model: model, options: .init(candidates: 1, seed: 5)).infer(from: Self.shortLover)
        #expect(one.contextPairCount == Self.shortLover.pairs.count && one.heldOutCount == 0)
        #expect(one.reward == nil && one.note == "one candidate: not scored")
        // Nothing is scored: the only call is the sample.
        #expect(model.calls.count == 0)
    }

    /// The skim form writes the whole summary from the newest pairs skimmed, as the whole form does.
    @Test func theSkimFormReadsTheNewestPairsAndWritesOneSummary() async throws {
        let model = WordModel(candidates: ["prefers short answers"])
        let one = try await SummaryOptimizer(model: model, options: .init(candidates: 1, form: .skim)).infer(from: Self.shortLover)
        #expect(one.text == "prefers short answers")
        #expect(one.contextPairCount == Skim.maxPairs && one.heldOutCount == 0)
        #expect(one.promptVersion == PromptBuilder.skimVersion)
        let best = try await SummaryOptimizer(model: model, options: .init(candidates: 2, form: .skim)).infer(from: Self.shortLover)
        #expect(best.heldOutCount == 2 && best.contextPairCount == Skim.maxPairs && best.reward != nil)
    }

    /// The note form writes one note per context pair, merges them, quotes the statements, and
    /// with one candidate scores nothing.
    @Test func theNoteFormWritesANotePerPairAndMergesThem() async throws {
        let model = WordModel(candidates: ["prefers short answers"])
        var signals = Self.shortLover
        signals.statements = ["I read on my phone"]
        let one = try await SummaryOptimizer(model: model, options: .init(candidates: 1, form: .notes)).infer(from: signals)
        #expect(one.text == "prefers short answers\nThe user said: \"I read on my phone\"")
        #expect(one.contextPairCount == 8 && one.heldOutCount == 0)
        #expect(one.promptVersion == PromptBuilder.notesVersion)
        #expect(model.calls.count == 0)
    }

    /// Candidate k merges every pair's k-th note, and best-of-N picks among the merged notes.
    @Test func theNoteFormsCandidatesAreMergedNotesScoredLikeSummaries() async throws {
        let model = WordModel(candidates: ["prefers short answers", "likes detail"])
        let result = try await SummaryOptimizer(model: model, options: .init(candidates: 2, seed: 0, form: .notes))
            .infer(from: Self.shortLover)
        #expect(result.candidates.map(\.text) == ["prefers short answers", "likes detail"])
        #expect(result.text == "prefers short answers" && result.chosenIndex == 0)
        #expect(result.contextPairCount == 6 && result.heldOutCount == 2)
    }

    /// Without pairs there is nothing to take notes on: the statements are read in the whole form.
    @Test func theNoteFormWithoutPairsFallsBackToTheWholeForm() async throws {
        let model = WordModel(candidates: ["a teacher"])
        let result = try await SummaryOptimizer(model: model, options: .init(candidates: 1, form: .notes))
            .infer(from: UserSignals(pairs: [], statements: ["I am a teacher"]))
        #expect(result.text == "a teacher" && result.promptVersion == PromptBuilder.version)
    }

    /// Pairs 0, 3 and 6 chose a response that says "short"; the others chose one like the
    /// other. With three candidates, pair i's description is candidate i mod 3 (seed 64·i).
    static let someShort = UserSignals(pairs: (0..<8).map { i in
        i % 3 == 0 ? PreferencePair(prompt: "question \(i)", chosen: "a short reply", rejected: "a reply that goes on and on")
            : PreferencePair(prompt: "question \(i)", chosen: "fine", rejected: "also fine")
    })

    /// The description form describes each pair's preferred response and keeps the descriptions
    /// that are likelier after the preferred responses than after the others, summed over the
    /// pairs (WordModel: a description of up to three words gains after a prompt that says "short").
    @Test func theDescriptionFormKeepsDescriptionsThatFitThePreferredResponsesBetter() async throws {
        let model = WordModel(candidates: ["wants it short", "likes fine things a lot", "likes other things a lot"])
        var signals = Self.someShort
        signals.statements = ["I read on my phone"]
        let one = try await SummaryOptimizer(model: model, options: .init(candidates: 1, seed: 0, form: .describe)).infer(from: signals)
        // The other two descriptions, said as often, gain nothing from the preferred responses.
        #expect(one.text == "wants it short\nThe user said: \"I read on my phone\"")
        #expect(one.contextPairCount == 8 && one.heldOutCount == 0)
        #expect(one.promptVersion == PromptBuilder.describeVersion)
        // The only scoring is the evidence: every description after both responses of each pair, one call per prompt.
        #expect(model.calls.count == 2 * 8)
    }

    /// When no description fits the preferred response better, the closest one is kept, so a
    /// user with pairs always gets a summary.
    @Test func theDescriptionFormKeepsTheClosestWhenNoneFitsBetter() async throws {
        let model = WordModel(candidates: ["likes fine things", "likes other things"])
        let pairs = Self.someShort.pairs.enumerated().filter { $0.offset % 3 != 0 }.map(\.element)
        let result = try await SummaryOptimizer(model: model, options: .init(candidates: 1, seed: 0, form: .describe))
            .infer(from: UserSignals(pairs: pairs))
        #expect(result.text == "likes fine things")
    }

    @Test func deterministicForAFixedSeed() async throws {
        let model = WordModel(candidates: ["p", "prefers short answers", "q"])
        let a = try await SummaryOptimizer(model: model, options: .init(candidates: 3, seed: 9)).infer(from: Self.shortLover)
        let b = try await SummaryOptimizer(model: model, options: .init(candidates: 3, seed: 9)).infer(from: Self.shortLover)
        #expect(a.text == b.text && a.reward == b.reward && a.candidates == b.candidates)
    }

    @Test func fewerThanTwoPairsFallsBackToOneUnscoredSummary() async throws {
        let model = WordModel(candidates: ["only one"])
        let signals = UserSignals(pairs: [Self.shortLover.pairs[0]], statements: ["I am a teacher"])
        let result = try await SummaryOptimizer(model: model).infer(from: signals)
        #expect(result.text == "only one")
        #expect(result.reward == nil && result.accuracy == nil)
        #expect(result.candidatesTried == 1 && result.heldOutCount == 0)
        #expect(result.note != nil)
    }

    @Test func badInputIsAClearError() async throws {
        let model = WordModel(candidates: ["s"])
        await #expect(throws: PersonalizationError.noSignals) {
            _ = try await SummaryOptimizer(model: model).infer(from: UserSignals())
        }
        let useless = UserSignals(pairs: [PreferencePair(prompt: "q", chosen: "same", rejected: "same")], statements: [" "])
        await #expect(throws: PersonalizationError.noSignals) {
            _ = try await SummaryOptimizer(model: model).infer(from: useless)
        }
        await #expect(throws: PersonalizationError.noCandidates) {
            _ = try await SummaryOptimizer(model: WordModel(candidates: ["  "])).infer(from: Self.shortLover)
        }
        await #expect(throws: PersonalizationError.self) {
            _ = try await SummaryOptimizer(model: model, options: .init(candidates: 0)).infer(from: Self.shortLover)
        }
        await #expect(throws: PersonalizationError.self) {
            _ = try await SummaryOptimizer(model: model, options: .init(topP: 1.5)).infer(from: Self.shortLover)
        }
    }

    @Test func promptThatCannotFitIsAnError() async throws {
        var model = WordModel(candidates: ["s"])
        model.contextLength = 50
        await #expect(throws: PersonalizationError.promptTooLong) {
            _ = try await SummaryOptimizer(model: model).infer(from: Self.shortLover)
        }
    }
}

@Suite struct SummaryCleaningTests {
    @Test func repeatedLinesAndACutOffTailAreDropped() {
        let sample = "- Short answers\n- Plain words\n- short answers\n\n- Plain words\n- Examples when use"
        #expect(SummaryOptimizer.clean(sample, cutOff: true) == "- Short answers\n- Plain words")
        #expect(SummaryOptimizer.clean(sample, cutOff: false) == "- Short answers\n- Plain words\n\n- Examples when use")
        #expect(SummaryOptimizer.clean("  one line cut  ", cutOff: true) == "one line cut")
    }
}
