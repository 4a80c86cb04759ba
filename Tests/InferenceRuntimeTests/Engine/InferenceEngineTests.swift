import Foundation
import Synchronization
import Testing
@testable import InferenceRuntime

@Suite(.serialized) struct InferenceEngineTests {
    static let engine: InferenceEngine = {
        do { return try InferenceEngine(configuration: EngineConfiguration(modelPath: TestModel.path, threads: 2, maxBatchTokens: 128)) }
        catch { fatalError("engine: \(error)") }
    }()

    static let photosynthesis = ReferenceVectors.generation.prompts[0]

    @Test func promptTokensComeFromTheChatTemplate() throws {
        let ids = try Self.engine.promptTokens(.user("What is photosynthesis?"))
        #expect(ids == Self.photosynthesis.prompt_ids)
    }

    @Test func greedyGenerationFollowsLlamaCppAndStreamsItsText() async throws {
        let streamed = Mutex("")
        let gaps = Self.photosynthesis.top1_top2_logit_gap_per_step
        let stable = gaps.firstIndex { $0 < 0.5 } ?? gaps.count
        let result = try await Self.engine.generate(
            GenerationRequest(prompt: .user("What is photosynthesis?"), sampling: SamplingParameters(maxTokens: 12, temperature: 0))
        ) { _, text in streamed.withLock { $0 += text } }
        let generation = try #require(result.first)
        #expect(generation.tokens.count == 12)
        #expect(generation.finishReason == .length)
        #expect(Array(generation.tokens.prefix(stable)) == Array(Self.photosynthesis.greedy_ids.prefix(min(stable, 12))))
        #expect(streamed.withLock { $0 } == generation.text)
        #expect(generation.text == (try Self.engine.tokenizer.decodeText(generation.tokens, renderSpecial: false)))
    }

    @Test func seededSamplingIsReproducibleAndBestOfNDecodesTogether() async throws {
        let sampling = SamplingParameters(maxTokens: 10, temperature: 1.0, topK: 0, topP: 0.9, minP: 0.01, seed: 42)
        let request = GenerationRequest(prompt: .user("Tell me about cats."), sampling: sampling, count: 3)
        let first = try await Self.engine.generate(request)
        let second = try await Self.engine.generate(request)
        #expect(first == second)
        #expect(first.map(\.seed) == [42, 43, 44])
        // Sample i of a batch equals the same seed run alone: batching does not change results.
        var alone = sampling
        alone.seed = 43
        let single = try await Self.engine.generate(GenerationRequest(prompt: .user("Tell me about cats."), sampling: alone))
        #expect(single[0].tokens == first[1].tokens)
    }

    @Test func moreSamplesThanABatchHoldsAreAllDecoded() async throws {
        let small = try InferenceEngine(configuration: EngineConfiguration(modelPath: TestModel.path, threads: 2, maxBatchTokens: 2))
        defer { small.shutdown() }
        let request = GenerationRequest(prompt: .user("Name a color."),
                                        sampling: SamplingParameters(maxTokens: 6, temperature: 0.9, seed: 5), count: 3)
        let few = try await small.generate(request)
        let many = try await Self.engine.generate(request)
        #expect(few == many)
    }

    @Test func concurrentRequestsGetTheSameResultsAsAlone() async throws {
        let prompts = ["Name a fruit.", "What is 2 + 2?", "Say hello in French."]
        let sampling = SamplingParameters(maxTokens: 8, temperature: 0)
        var alone: [[Int32]] = []
        for prompt in prompts {
            alone.append(try await Self.engine.generate(GenerationRequest(prompt: .user(prompt), sampling: sampling))[0].tokens)
        }
        let together = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
            for (i, prompt) in prompts.enumerated() {
                group.addTask { (i, try await Self.engine.generate(GenerationRequest(prompt: .user(prompt), sampling: sampling))[0].tokens) }
            }
            var out = [[Int32]](repeating: [], count: prompts.count)
            for try await (i, tokens) in group { out[i] = tokens }
            return out
        }
        #expect(together == alone)
    }

    @Test func runningStreamsKeepDecodingWhileALongPromptIsReadInChunks() async throws {
        let engine = try InferenceEngine(configuration: EngineConfiguration(modelPath: TestModel.path, threads: 2, maxBatchTokens: 128,
                                                                           prefillChunkTokens: 16))
        defer { engine.shutdown() }
        let short = GenerationRequest(prompt: .user("Count from one to fifty in words."),
                                      sampling: SamplingParameters(maxTokens: 60, temperature: 0))
        let long = GenerationRequest(prompt: .user(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 60)),
                                     sampling: SamplingParameters(maxTokens: 4, temperature: 0))
        let shortAlone = try await engine.generate(short)[0].tokens
        let longAlone = try await engine.generate(long)[0].tokens
        let longPrompt = try engine.promptTokens(long.prompt).count

        // Pieces the short stream has received, and that count when the long one's first piece arrives.
        let pieces = Mutex(0)
        let piecesBeforeLong = Mutex<Int?>(nil)
        let started = AsyncStream<Void>.makeStream()
        async let shortRun = engine.generate(short) { _, _ in
            if pieces.withLock({ $0 += 1; return $0 }) == 1 { started.continuation.yield() }
        }
        for await _ in started.stream { break }
        let atSubmit = pieces.withLock { $0 }
        let longRun = try await engine.generate(long) { _, _ in
            piecesBeforeLong.withLock { if $0 == nil { $0 = pieces.withLock { $0 } } }
        }
        let shortTogether = try await shortRun
        #expect(shortTogether[0].tokens == shortAlone)
        #expect(longRun[0].tokens == longAlone)
        // The long prompt takes one 16-token chunk per step; the short stream decodes a token in each.
        #expect(longPrompt > 500)
        let during = try #require(piecesBeforeLong.withLock { $0 }) - atSubmit
        #expect(during >= 20, "the short stream got \(during) pieces while \(longPrompt) prompt tokens were read")
    }

    // MARK: Prefix cache

    static func personalized(_ question: String) -> Prompt {
        .messages([.system(String(repeating: "The user prefers answers that start with the conclusion. ", count: 10)),
                   .user(question)])
    }

    @Test func aUsersSecondRequestReusesItsPromptPrefixWithTheSameTokens() async throws {
        let engine = try InferenceEngine(configuration: EngineConfiguration(modelPath: TestModel.path, threads: 2, maxBatchTokens: 128))
        defer { engine.shutdown() }
        let sampling = SamplingParameters(maxTokens: 8, temperature: 0.8, seed: 21)
        let key = PrefixCacheKey(owner: "tenant-a/user-1", version: "summary-1")
        let second = Self.personalized("How do tides work?")
        let uncached = try await engine.generate(GenerationRequest(prompt: second, sampling: sampling, count: 2))
        _ = try await engine.generate(GenerationRequest(prompt: Self.personalized("Why is the sky blue?"), sampling: sampling,
                                                        prefixCache: key))
        let statistics = engine.prefixCacheStatistics
        #expect((statistics.hits, statistics.misses, statistics.entries) == (0, 1, 1))
        let cached = try await engine.generate(GenerationRequest(prompt: second, sampling: sampling, count: 2, prefixCache: key))
        #expect(cached.map(\.tokens) == uncached.map(\.tokens))
        #expect(cached.map(\.text) == uncached.map(\.text))
        #expect(uncached.map(\.cachedPromptTokenCount) == [0, 0])
        #expect(cached.map(\.cachedPromptTokenCount) == [statistics.reusedTokens, statistics.reusedTokens])
        #expect(statistics.hits == 1)
        // The whole system turn and the template around it came from the cache.
        let ids = try engine.promptTokens(second)
        let question = try engine.promptTokens(.user("How do tides work?"))
        #expect(statistics.reusedTokens > ids.count - question.count)
        #expect(statistics.reusedTokens < ids.count)
    }

    @Test func anOwnerOfSharedOpeningsKeepsOnlyTheOpeningAndItsNextPromptsReuseIt() async throws {
        let engine = try InferenceEngine(configuration: EngineConfiguration(modelPath: TestModel.path, threads: 2, maxBatchTokens: 128))
        defer { engine.shutdown() }
        let sampling = SamplingParameters(maxTokens: 6, temperature: 0.8, seed: 5)
        let key = PrefixCacheKey(owner: "summaries", version: "", keepsSharedOpening: true)
        // Long enough that a whole prompt holds more pages than the opening.
        let questions = ["Why is the sky blue?", "How do tides work?", "Name a lake."].map { $0 + String(repeating: " Say more.", count: 40) }
        var uncached: [[Int32]] = []
        for question in questions {
            uncached.append(try await engine.generate(GenerationRequest(prompt: Self.personalized(question), sampling: sampling))[0].tokens)
        }
        let statistics = engine.prefixCacheStatistics
        let pageBytes = KVCache.pageBytes(config: engine.modelConfig, pagePositions: KVCache.defaultPagePositions)
        var cached: [Generation] = []
        for question in questions {
            cached.append(try await engine.generate(GenerationRequest(prompt: Self.personalized(question), sampling: sampling,
                                                                      prefixCache: key))[0])
        }
        #expect(cached.map(\.tokens) == uncached)
        // The first prompt is kept whole; the second reuses the opening and leaves only it kept,
        // which the third reuses as it is.
        let opening = cached[1].cachedPromptTokenCount
        let whole = try engine.promptTokens(Self.personalized(questions[0])).count
        #expect(opening > whole - (try engine.promptTokens(.user(questions[0])).count))
        #expect(opening < whole)
        #expect(cached.map(\.cachedPromptTokenCount) == [0, opening, opening])
        #expect((statistics.hits, statistics.misses, statistics.entries) == (2, 1, 1))
        let pages = (opening + KVCache.defaultPagePositions - 1) / KVCache.defaultPagePositions
        #expect(statistics.bytes == pages * pageBytes)
        #expect(pages < (whole + KVCache.defaultPagePositions - 1) / KVCache.defaultPagePositions)
    }

    @Test func theCacheNeverServesAnotherOwnerOrAnOutdatedVersion() async throws {
        let engine = try InferenceEngine(configuration: EngineConfiguration(modelPath: TestModel.path, threads: 2, maxBatchTokens: 128))
        defer { engine.shutdown() }
        let sampling = SamplingParameters(maxTokens: 4, temperature: 0)
        let prompt = Self.personalized("Name a river.")
        func run(_ owner: String, _ version: String) async throws -> [Int32] {
            try await engine.generate(GenerationRequest(prompt: prompt, sampling: sampling,
                                                        prefixCache: PrefixCacheKey(owner: owner, version: version)))[0].tokens
        }
        let statistics = engine.prefixCacheStatistics
        let first = try await run("t/alice", "v1")
        #expect(try await run("t/bob", "v1") == first)
        #expect((statistics.hits, statistics.misses) == (0, 2))
        #expect(try await run("t/alice", "v2") == first)
        #expect((statistics.hits, statistics.misses, statistics.invalidations) == (0, 3, 1))
        #expect(try await run("t/alice", "v2") == first)
        #expect(statistics.hits == 1)
        // The same owner and version under an adapter reuses nothing computed without it.
        let adapter = try Self.trained(seed: 14)
        _ = try await engine.generate(GenerationRequest(prompt: prompt, sampling: sampling, adapter: adapter,
                                                        prefixCache: PrefixCacheKey(owner: "t/alice", version: "v2")))
        #expect((statistics.hits, statistics.invalidations) == (1, 2))
    }

    @Test func keptPromptsStayInsideTheMemoryBudget() async throws {
        let probe = try InferenceEngine(configuration: EngineConfiguration(modelPath: TestModel.path, threads: 2, prefixCacheBytes: 0))
        let config = probe.modelConfig
        probe.shutdown()
        let pageBytes = KVCache.pageBytes(config: config, pagePositions: KVCache.defaultPagePositions)
        let engine = try InferenceEngine(configuration: EngineConfiguration(modelPath: TestModel.path, threads: 2, maxBatchTokens: 128,
                                                                           prefixCacheBytes: 5 * pageBytes))
        defer { engine.shutdown() }
        let statistics = engine.prefixCacheStatistics
        #expect(statistics.budgetBytes == 5 * pageBytes)
        #expect((65...128).contains(try engine.promptTokens(Self.personalized("Name a lake.")).count))
        let sampling = SamplingParameters(maxTokens: 2, temperature: 0)
        for user in 0..<4 {
            _ = try await engine.generate(GenerationRequest(prompt: Self.personalized("Name a lake."), sampling: sampling,
                                                            prefixCache: PrefixCacheKey(owner: "t/\(user)", version: "v")))
            #expect(statistics.bytes <= statistics.budgetBytes)
        }
        // Each prompt spans two pages: two fit, the older ones were evicted, least recently used first.
        #expect((statistics.entries, statistics.evictions) == (2, 2))
        _ = try await engine.generate(GenerationRequest(prompt: Self.personalized("Name a lake."), sampling: sampling,
                                                        prefixCache: PrefixCacheKey(owner: "t/0", version: "v")))
        _ = try await engine.generate(GenerationRequest(prompt: Self.personalized("Name a lake."), sampling: sampling,
                                                        prefixCache: PrefixCacheKey(owner: "t/3", version: "v")))
        #expect((statistics.hits, statistics.misses) == (1, 5))
    }

    @Test func stopStringsEndGenerationBeforeTheString() async throws {
        let sampling = SamplingParameters(maxTokens: 40, temperature: 0, stop: [" process"])
        let result = try await Self.engine.generate(GenerationRequest(prompt: .user("What is photosynthesis?"), sampling: sampling))
        #expect(result[0].finishReason == .stopString)
        #expect(result[0].text == "Photosynthesis is a vital biological")
    }

    @Test func scoringMatchesLlamaCppAndSharesThePrompt() async throws {
        for reference in ReferenceVectors.scoring.cases {
            let messages = [ChatMessage.user(reference.name == "capital_paris" ? "What is the capital of France?"
                                             : "Why is the sky blue? Answer in one sentence.")]
            let response = try Self.engine.tokenizer.decodeText(Array(reference.response_ids.dropLast()))
            let scores = try await Self.engine.score(ScoreRequest(prompt: .messages(messages), responses: [response, "No.", ""]))
            #expect(scores[0].tokens == reference.response_ids)
            for (k, token) in reference.per_token.enumerated() {
                #expect(abs(scores[0].logprobs[k] - token.logprob) <= 0.4)
            }
            // The same response scored alone gives the same bits as in the shared batch.
            let alone = try await Self.engine.score(ScoreRequest(prompt: .messages(messages), responses: ["No."]))
            #expect(alone[0] == scores[1])
            #expect(scores[2].tokens.count == 1)
            #expect(scores[2].logprobs[0] < 0)
        }
    }

    @Test func promptsOfOneJobReuseTheirCommonPrefixWithTheSameBits() async throws {
        // Prompts longer than one 64-position KV page share a prefix that ends mid-page (copy on
        // write); an identical prompt shares all but its last token; a different one only the template.
        let summary = String(repeating: "The user likes short answers with concrete examples. ", count: 12)
        let requests = [
            ScoreRequest(prompt: .user("\(summary)\nRequest: Why is the sky blue?"), responses: ["Rayleigh scattering.", "No idea."]),
            ScoreRequest(prompt: .user("\(summary)\nRequest: What is the capital of France?"), responses: ["Paris.", "Lyon."]),
            ScoreRequest(prompt: .user("\(summary)\nRequest: What is the capital of France?"), responses: ["Paris."]),
            ScoreRequest(prompt: .user("Name a prime number."), responses: ["Seven.", "Eight."]),
        ]
        let together = try await Self.engine.score(requests)
        for (index, request) in requests.enumerated() {
            let alone = try await Self.engine.score(request)
            #expect(together[index] == alone, "request \(index)")
        }
    }

    @Test func badInputIsAClearError() async throws {
        let engine = Self.engine
        func error(_ request: GenerationRequest) async -> InferenceError? {
            do { _ = try await engine.generate(request); return nil } catch { return error as? InferenceError }
        }
        #expect(await error(GenerationRequest(prompt: .user(""))) == .emptyPrompt)
        #expect(await error(GenerationRequest(prompt: .tokens([]))) == .emptyPrompt)
        let long = GenerationRequest(prompt: .tokens(Array(repeating: 198, count: 8300)))
        #expect(await error(long) == .contextOverflow(needed: 8301, limit: 8192))
        let zero = await error(GenerationRequest(prompt: .user("hi"), sampling: SamplingParameters(maxTokens: 0)))
        #expect(zero == .invalidParameter(name: "max_tokens", reason: "must be at least 1, got 0"))
        let negative = await error(GenerationRequest(prompt: .user("hi"), sampling: SamplingParameters(temperature: -1)))
        #expect(negative == .invalidParameter(name: "temperature", reason: "must be a number >= 0, got -1.0"))
        for topP: Float in [0, 1.5, -0.1] {
            let bad = await error(GenerationRequest(prompt: .user("hi"), sampling: SamplingParameters(topP: topP)))
            #expect(bad == .invalidParameter(name: "top_p", reason: "must be in (0, 1], got \(topP)"))
        }
        #expect(await error(GenerationRequest(prompt: .tokens([49152]))) == .invalidTokenID(49152, vocabularySize: 49152))
        #expect(throws: InferenceError.invalidUTF8(offset: 2)) { try Prompt.text(utf8: [0x68, 0x69, 0xFF, 0x21]) }
        let scoreError: InferenceError? = await {
            do { _ = try await engine.score(ScoreRequest(prompt: .user(""), responses: ["x"])); return nil }
            catch { return error as? InferenceError }
        }()
        #expect(scoreError == .emptyPrompt)
    }

    // MARK: LoRA adapters

    static func trained(seed: UInt64, rank: Int = 16) throws -> LoRAAdapter {
        let adapter = try LoRAAdapter(config: engine.modelConfig, rank: rank, seed: seed)
        LoRADeltasTests.fill(adapter, b: 0.05, seed: seed)
        return adapter
    }

    @Test func anAdapterWithZeroBChangesNoBitOfGenerationOrScoringAndATrainedOneDoes() async throws {
        let zero = try LoRAAdapter(config: Self.engine.modelConfig, rank: 16, seed: 7)
        let trained = try Self.trained(seed: 8)
        let sampling = SamplingParameters(maxTokens: 8, temperature: 0.8, seed: 3)
        func generate(_ adapter: LoRAAdapter?) async throws -> [Generation] {
            try await Self.engine.generate(GenerationRequest(prompt: .user("Name a fruit."), sampling: sampling, count: 3,
                                                             adapter: adapter))
        }
        let base = try await generate(nil)
        #expect(try await generate(zero) == base)
        #expect(try await generate(trained) != base)

        func score(_ adapter: LoRAAdapter?) async throws -> [ResponseScore] {
            try await Self.engine.score(ScoreRequest(prompt: .user("What is the capital of France?"),
                                                     responses: ["Paris.", "It is Lyon."], adapter: adapter))
        }
        let baseScores = try await score(nil)
        #expect(try await score(zero) == baseScores)
        let trainedScores = try await score(trained)
        #expect(trainedScores.map(\.tokens) == baseScores.map(\.tokens))
        #expect(trainedScores.map(\.logprobs) != baseScores.map(\.logprobs))
    }

    @Test func requestsWithAndWithoutAdaptersGetTheResultsTheyGetAlone() async throws {
        let first = try Self.trained(seed: 9), second = try Self.trained(seed: 10, rank: 8)
        let sampling = SamplingParameters(maxTokens: 8, temperature: 0.9, seed: 11)
        let requests = [nil, first, second, first].enumerated().map { index, adapter in
            GenerationRequest(prompt: .user("Describe a tree."), sampling: sampling, count: 1 + index % 2, adapter: adapter)
        }
        var alone: [[Generation]] = []
        for request in requests { alone.append(try await Self.engine.generate(request)) }
        let together = try await withThrowingTaskGroup(of: (Int, [Generation]).self) { group in
            for (i, request) in requests.enumerated() { group.addTask { (i, try await Self.engine.generate(request)) } }
            var out = [[Generation]](repeating: [], count: requests.count)
            for try await (i, generations) in group { out[i] = generations }
            return out
        }
        #expect(together == alone)
        // Best-of-N with an adapter: the second sample equals its seed run alone with the adapter.
        var single = sampling
        single.seed = 12
        let sample = try await Self.engine.generate(GenerationRequest(prompt: .user("Describe a tree."), sampling: single,
                                                                      adapter: first))
        #expect(sample[0].tokens == alone[1][1].tokens)
    }

    /// Prompts of one job share KV only when they run with the same adapter (or none).
    @Test func scoringReusesAPromptOnlyUnderTheSameAdapter() async throws {
        let adapter = try Self.trained(seed: 13)
        let prompt = Prompt.user("The user likes short answers.\nRequest: Name a planet.")
        let requests = [nil, adapter, adapter, nil].map { ScoreRequest(prompt: prompt, responses: ["Mars.", "Venus."], adapter: $0) }
        let together = try await Self.engine.score(requests)
        for (index, request) in requests.enumerated() {
            #expect(together[index] == (try await Self.engine.score(request)), "request \(index)")
        }
        #expect(together[0] != together[1])
    }

    @Test func anAdapterForAnotherModelIsATypedError() async throws {
        let other = try LlamaConfig(gguf: GGUFFile(bytes: LlamaConfigErrorTests.writer().bytes()))
        let adapter = try LoRAAdapter(config: other, rank: 4, seed: 1)
        let expected = InferenceError.adapterMismatch(.layerCountMismatch(adapter: 2, model: 30))
        await #expect(throws: expected) {
            _ = try await Self.engine.generate(GenerationRequest(prompt: .user("hi"), adapter: adapter))
        }
        await #expect(throws: expected) {
            _ = try await Self.engine.score(ScoreRequest(prompt: .user("hi"), responses: ["hello"], adapter: adapter))
        }
        #expect(expected.description
                == "the LoRA adapter does not fit this model: the adapter was made for a model with 2 layers, but this model has 30")
    }

    @Test func aModelOfAnotherArchitectureIsRejected() throws {
        var writer = GGUFWriter()
        writer.metadata = [("general.architecture", .string("gpt2"))]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("popi-gpt2-\(getpid()).gguf")
        try Data(writer.bytes()).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: ModelConfigError.unsupportedArchitecture("gpt2", supported: ["llama"])) {
            _ = try InferenceEngine(configuration: EngineConfiguration(modelPath: url.path))
        }
        #expect(throws: (any Error).self) {
            _ = try InferenceEngine(configuration: EngineConfiguration(modelPath: "/nonexistent/model.gguf"))
        }
    }
}
