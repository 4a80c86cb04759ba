import Foundation
import Glibc

/// The engine thread: takes queued jobs, and between them runs steps that batch one decode token
/// of every running generation with a chunk of the prompts waiting to be read, so requests join
/// and leave the batch at token granularity. Everything below `queue` is touched only on this
/// thread.
final class EngineLoop: @unchecked Sendable {
    enum Job {
        case generate(GenerationJob)
        case score(ScoreJob)
        /// Runs with exclusive use of the model and cache (benchmarks).
        case exclusive((LlamaModel, KVCache) -> Void)
    }

    /// Keeps the mapping alive: weights that are not repacked are views into it.
    let file: GGUFFile
    let model: LlamaModel
    let cache: KVCache
    let tokenizer: Tokenizer
    let template: ChatTemplate

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [Job] = []
    private var stopping = false
    private var thread = pthread_t()

    /// Samples being decoded.
    var active: [ActiveSample] = []
    /// Generations whose prompts are being read, oldest first.
    var prompts: [PendingPrompt] = []
    let prefixCache: PrefixCache
    /// Most prompt tokens in a pass that also decodes running samples.
    let prefillChunk: Int
    var batch = TokenBatch()

    init(file: GGUFFile, model: LlamaModel, cache: KVCache, tokenizer: Tokenizer, template: ChatTemplate,
         prefixCache: PrefixCache, prefillChunk: Int) {
        self.file = file
        self.model = model
        self.cache = cache
        self.tokenizer = tokenizer
        self.template = template
        self.prefixCache = prefixCache
        self.prefillChunk = prefillChunk
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, nil, { raw in
            let loop = Unmanaged<EngineLoop>.fromOpaque(raw!).takeRetainedValue()
            loop.run()
            return nil
        }, context)
        precondition(status == 0, "cannot start the inference engine thread (\(status))")
    }

    deinit {
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        wake.deallocate()
        mutex.deallocate()
    }

    func submit(_ job: Job) {
        pthread_mutex_lock(mutex)
        let accepted = !stopping
        if accepted {
            queue.append(job)
            pthread_cond_signal(wake)
        }
        pthread_mutex_unlock(mutex)
        if !accepted { Self.fail(job, InferenceError.engineStopped) }
    }

    /// Submits the job `make` builds around a completion, and waits for that completion.
    func wait<T>(_ make: (@escaping (Result<T, Error>) -> Void) -> Job) throws -> T {
        precondition(!pthread_equal(pthread_self(), thread).isTrue, "blocking engine call from the engine thread")
        let done = DispatchSemaphore(value: 0)
        // Written once on the engine thread before the signal, read after the wait: the
        // semaphore orders the two.
        nonisolated(unsafe) var outcome: Result<T, Error>?
        submit(make { result in
            outcome = result
            done.signal()
        })
        done.wait()
        return try outcome!.get()
    }

    /// `wait` for async callers: submits the job `make` builds around a completion and awaits it;
    /// cancelling the task calls `cancel`.
    func awaitCompletion<T: Sendable>(cancel: @escaping @Sendable () -> Void,
                                      _ make: (@escaping (Result<T, Error>) -> Void) -> Job) async throws -> T {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                submit(make { continuation.resume(with: $0) })
            }
        } onCancel: {
            cancel()
        }
    }

    /// Runs `body` on the engine thread with the model and cache, and waits for it.
    func exclusive<T>(_ body: @escaping (LlamaModel, KVCache) throws -> T) throws -> T {
        try wait { completion in
            .exclusive { model, cache in completion(Result { try body(model, cache) }) }
        }
    }

    /// Stops after the queued work; the thread exits once no generation is left.
    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_signal(wake)
        pthread_mutex_unlock(mutex)
    }

    private func run() {
        while true {
            pthread_mutex_lock(mutex)
            while queue.isEmpty, active.isEmpty, prompts.isEmpty, !stopping { pthread_cond_wait(wake, mutex) }
            let jobs = queue
            queue.removeAll()
            let exit = stopping && jobs.isEmpty && active.isEmpty && prompts.isEmpty
            pthread_mutex_unlock(mutex)
            if exit { return }
            for job in jobs {
                switch job {
                case .generate(let generation): start(generation)
                case .score(let scoring): runScoring(scoring)
                case .exclusive(let body): body(model, cache)
                }
            }
            if !active.isEmpty || !prompts.isEmpty { step() }
        }
    }

    static func fail(_ job: Job, _ error: Error) {
        switch job {
        case .generate(let generation): generation.completion?(.failure(error))
        case .score(let scoring): scoring.completion?(.failure(error))
        case .exclusive: break
        }
    }

    // MARK: Prompts

    func promptTokens(_ prompt: Prompt) throws -> [Int32] {
        let ids: [Int32]
        switch prompt {
        case .messages(let messages):
            guard messages.contains(where: { !$0.content.isEmpty }) else { throw InferenceError.emptyPrompt }
            ids = try template.encode(messages, addGenerationPrompt: true, tokenizer: tokenizer)
        case .tokens(let tokens):
            ids = tokens
        }
        guard !ids.isEmpty else { throw InferenceError.emptyPrompt }
        for id in ids where id < 0 || Int(id) >= model.config.vocabularySize {
            throw InferenceError.invalidTokenID(id, vocabularySize: model.config.vocabularySize)
        }
        return ids
    }

    /// Checks a request's adapter against the model before any work is done for it.
    func validate(_ adapter: LoRAAdapter?) throws(InferenceError) {
        do {
            try adapter?.layout.validate(for: model.config)
        } catch {
            throw .adapterMismatch(error)
        }
    }

    /// Runs `ids` into `sequence` from `start` in chunks of the batch size, with `adapter` if any,
    /// asking for the logits after the last token, which `onLogits` receives.
    func prefill(_ ids: ArraySlice<Int32>, sequence: KVCache.SequenceID, start: Int, adapter: LoRAAdapter?,
                 onLogits: (UnsafePointer<Float>) -> Void) throws {
        var position = start
        var index = ids.startIndex
        while index < ids.endIndex {
            let end = min(ids.endIndex, index + model.maxBatch)
            batch.removeAll()
            for i in index..<end {
                batch.append(ids[i], position: position, sequence: sequence, logits: i == ids.endIndex - 1, adapter: adapter)
                position += 1
            }
            try model.forward(batch, cache: cache) { _, logits in onLogits(logits) }
            index = end
        }
    }
}

private extension Int32 {
    var isTrue: Bool { self != 0 }
}
