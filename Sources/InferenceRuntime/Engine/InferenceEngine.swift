import Foundation

/// The runtime's façade: one model, its KV cache and scratch memory, owned by one engine thread.
///
/// Any number of threads or tasks may call it at once. Requests queue for the engine thread, which
/// never interleaves work inside a forward pass; each pass batches one decode token of every
/// running generation with a chunk of the prompts waiting to be read (weights are read once per
/// pass for all of them), so concurrent requests and best-of-N samples share the work, and a
/// request naming a `PrefixCacheKey` reuses the KV of its owner's previous prompt. Streaming callbacks run on the
/// engine thread: they should return quickly and must not call the engine's blocking methods.
public final class InferenceEngine: Sendable {
    public let modelConfig: LlamaConfig
    public let tokenizer: Tokenizer
    public let chatTemplate: ChatTemplate
    public let kernels: KernelSet
    public let threads: Int
    /// Hits, misses, evictions and memory of the prompts kept for their owners' next requests.
    public let prefixCacheStatistics: PrefixCacheStatistics
    let loop: EngineLoop

    /// Loads the model (validating the file) and starts the engine thread.
    public init(configuration: EngineConfiguration) throws {
        try configuration.validate()
        let file = try GGUFFile.open(path: configuration.modelPath)
        let config = try LlamaConfig(gguf: file)
        let tokenizer = try Tokenizer(gguf: file)
        let template = try ChatTemplate(gguf: file, override: configuration.chatTemplate)
        let weights = try LlamaWeights(gguf: file, config: config, releaseSource: true)
        let pool = WorkerPool(threads: configuration.threads)
        let model = LlamaModel(config: config, weights: weights, kernels: configuration.kernels, pool: pool,
                               maxBatch: configuration.maxBatchTokens)
        let pagePositions = KVCache.defaultPagePositions
        let pageBytes = KVCache.pageBytes(config: config, pagePositions: pagePositions)
        let prefixPages = configuration.prefixCacheBytes / pageBytes
        let cache = KVCache(config: config, pagePositions: pagePositions, maxCachedPositions: configuration.maxCachedTokens,
                            extraPositions: prefixPages * pagePositions)
        let prefixCache = PrefixCache(cache: cache, budgetPages: prefixPages)
        prefixCacheStatistics = prefixCache.statistics
        modelConfig = config
        self.tokenizer = tokenizer
        chatTemplate = template
        kernels = configuration.kernels
        threads = configuration.threads
        loop = EngineLoop(file: file, model: model, cache: cache, tokenizer: tokenizer, template: template,
                          prefixCache: prefixCache, prefillChunk: configuration.prefillChunkTokens)
    }

    /// Stops the engine thread after the queued work; later requests fail.
    public func shutdown() { loop.stop() }

    /// Token ids of a prompt: a conversation through the chat template (text in plain mode, so
    /// user text never becomes control tokens), with the assistant's turn opened.
    public func promptTokens(_ prompt: Prompt) throws -> [Int32] {
        try loop.promptTokens(prompt)
    }

    // MARK: Generation

    /// Generates `request.count` continuations; `onText(sample, text)` receives each sample's text
    /// as it is decoded (complete UTF-8, stop strings held back). Cancelling the task ends the
    /// samples with `.cancelled`.
    public func generate(_ request: GenerationRequest,
                         onText: (@Sendable (Int, String) -> Void)? = nil) async throws -> [Generation] {
        let job = GenerationJob(request: request, onText: onText)
        return try await loop.awaitCompletion(cancel: job.cancel) { completion in
            job.completion = completion
            return .generate(job)
        }
    }

    /// `generate`, waiting on the calling thread (not from a streaming callback).
    public func generateBlocking(_ request: GenerationRequest,
                                 onText: (@Sendable (Int, String) -> Void)? = nil) throws -> [Generation] {
        let job = GenerationJob(request: request, onText: onText)
        return try loop.wait { completion in
            job.completion = completion
            return .generate(job)
        }
    }

    // MARK: Scoring

    /// Log-probabilities of each response after its prompt; each request's prompt is evaluated
    /// once and shared by its responses, whose tokens run together in batches.
    public func score(_ requests: [ScoreRequest]) async throws -> [[ResponseScore]] {
        let job = ScoreJob(requests: requests)
        return try await loop.awaitCompletion(cancel: job.cancel) { completion in
            job.completion = completion
            return .score(job)
        }
    }

    public func score(_ request: ScoreRequest) async throws -> [ResponseScore] {
        try await score([request])[0]
    }

    /// `score`, waiting on the calling thread (not from a streaming callback).
    public func scoreBlocking(_ requests: [ScoreRequest]) throws -> [[ResponseScore]] {
        let job = ScoreJob(requests: requests)
        return try loop.wait { completion in
            job.completion = completion
            return .score(job)
        }
    }
}
