extension EngineLoop {
    /// The prompt a scoring job ran last, kept in the cache for the next prompt to share.
    struct CachedPrompt {
        let tokens: [Int32]
        let sequence: KVCache.SequenceID
        let adapter: LoRAAdapter?
    }

    /// The previous prompt of a job stays cached, and each prompt reuses its KV for the tokens it
    /// shares with the previous one: the chat template's preamble always, and the summary when
    /// several held-out pairs are scored under one candidate. A position's KV does not depend on
    /// the pass that computed it, so the scores are the same bits as scoring each prompt alone.
    /// KV computed with one adapter (or none) is never reused under another.
    func runScoring(_ job: ScoreJob) {
        var previous: CachedPrompt?
        defer { if let previous { cache.remove(previous.sequence) } }
        do {
            var results: [[ResponseScore]] = []
            for request in job.requests {
                guard !job.isCancelled else { throw InferenceError.cancelled }
                results.append(try score(request, previous: &previous))
            }
            job.completion?(.success(results))
        } catch {
            job.completion?(.failure(error))
        }
    }

    /// Teacher forcing: the prompt runs once; each response runs in a fork of it, all responses'
    /// tokens packed together into batches. The logits after token k of a response give the
    /// log-probability of token k + 1; the prompt's last logits give every response's first.
    private func score(_ request: ScoreRequest, previous: inout CachedPrompt?) throws -> [ResponseScore] {
        guard !request.responses.isEmpty else { return [] }
        guard request.responses.count <= ScoreRequest.maxResponses else {
            throw InferenceError.invalidParameter(name: "responses", reason: "at most \(ScoreRequest.maxResponses) per prompt")
        }
        try validate(request.adapter)
        let prompt = try promptTokens(request.prompt)
        let responses = try request.responses.map { try template.encodeResponse($0, tokenizer: tokenizer) }
        let context = model.config.contextLength
        for response in responses where prompt.count + response.count - 1 > context {
            throw InferenceError.contextOverflow(needed: prompt.count + response.count - 1, limit: context)
        }
        let vocabulary = model.config.vocabularySize
        var scores = responses.map { ResponseScore(tokens: $0, logprobs: Array(repeating: 0, count: $0.count)) }
        func logprob(_ logits: UnsafePointer<Float>, _ token: Int32) -> Double {
            Double(logits[Int(token)]) - Elementwise.logSumExp(logits, count: vocabulary, kernels: model.kernels)
        }

        // The last prompt token always runs: its logits score every response's first token.
        let reusable = previous.flatMap { $0.adapter === request.adapter ? $0 : nil }
        let shared = reusable.map { reusable in
            PrefixCache.reusableLength(of: reusable.tokens, for: prompt)
        } ?? 0
        let root = reusable.map { cache.fork($0.sequence, length: shared) } ?? cache.create()
        var sequences: [KVCache.SequenceID] = []
        var rootKept = false
        defer {
            if !rootKept { cache.remove(root) }
            for sequence in sequences { cache.remove(sequence) }
        }
        try prefill(prompt[shared...], sequence: root, start: shared, adapter: request.adapter) { logits in
            for r in scores.indices { scores[r].logprobs[0] = logprob(logits, scores[r].tokens[0]) }
        }
        if let replaced = previous?.sequence { cache.remove(replaced) }
        previous = CachedPrompt(tokens: prompt, sequence: root, adapter: request.adapter)
        rootKept = true
        sequences = responses.map { _ in cache.fork(root) }

        // Every response token but the last is fed; entry i of `fed` is (response, token index).
        var fed: [(response: Int, index: Int)] = []
        var next = (response: 0, index: 0)
        /// Moves `next` past responses with nothing (left) to feed.
        func settle() {
            while next.response < responses.count, next.index >= responses[next.response].count - 1 {
                next = (next.response + 1, 0)
            }
        }
        settle()
        while next.response < responses.count {
            batch.removeAll()
            fed.removeAll(keepingCapacity: true)
            while batch.count < model.maxBatch, next.response < responses.count {
                let (r, k) = next
                batch.append(responses[r][k], position: prompt.count + k, sequence: sequences[r], logits: true,
                             adapter: request.adapter)
                fed.append((r, k))
                next = (r, k + 1)
                settle()
            }
            try model.forward(batch, cache: cache) { t, logits in
                let (r, k) = fed[t]
                scores[r].logprobs[k + 1] = logprob(logits, responses[r][k + 1])
            }
        }
        return scores
    }
}
