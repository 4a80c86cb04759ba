extension EngineLoop {
    /// Checks a generation request and queues its prompt, to be read a chunk per step; the
    /// owner's kept prompt, if the request names one, supplies the prefix the two share.
    func start(_ job: GenerationJob) {
        let request = job.request
        do {
            let ids = try promptTokens(request.prompt)
            try request.sampling.validate()
            try validate(request.adapter)
            guard (1...GenerationRequest.maxCount).contains(request.count) else {
                throw InferenceError.invalidParameter(name: "n", reason: "must be between 1 and \(GenerationRequest.maxCount)")
            }
            guard ids.count < model.config.contextLength else {
                throw InferenceError.contextOverflow(needed: ids.count + 1, limit: model.config.contextLength)
            }
            let reused = request.prefixCache.flatMap { prefixCache.reuse($0, adapter: request.adapter, ids: ids) }
            job.results = Array(repeating: nil, count: request.count)
            job.remaining = request.count
            prompts.append(PendingPrompt(job: job, ids: ids, sequence: reused?.sequence ?? cache.create(),
                                         seed: request.sampling.seed ?? UInt64.random(in: 0...UInt64.max),
                                         cached: reused?.length ?? 0, position: reused?.length ?? 0))
        } catch {
            job.completion?(.failure(error))
        }
    }

    /// One step: every running sample decodes a token, and the prompts waiting to be read fill
    /// the rest of the pass, oldest first: a whole batch when nothing decodes, at most
    /// `prefillChunk` tokens otherwise, so a long prompt delays the running streams' next tokens
    /// by one chunk's time per step instead of by its whole prefill.
    func step() {
        endCancelled()
        var start = 0
        while active.count - start > model.maxBatch {
            if runPass(decoding: start..<start + model.maxBatch, promptRoom: 0) { start += model.maxBatch }
        }
        let decoding = active.count - start
        runPass(decoding: start..<active.count, promptRoom: decoding == 0 ? model.maxBatch : min(prefillChunk, model.maxBatch - decoding))
        retireFinished()
    }

    /// One forward pass: the last token of each sample in `range`, then up to `promptRoom` prompt
    /// tokens. False when the pass failed (its jobs then failed, and left `active`).
    @discardableResult
    private func runPass(decoding range: Range<Int>, promptRoom: Int) -> Bool {
        batch.removeAll()
        for i in range {
            batch.append(active[i].next, position: active[i].position, sequence: active[i].sequence, logits: true,
                         adapter: active[i].job.request.adapter)
        }
        var reading: [(prompt: Int, count: Int)] = []
        var lastTokens: [Int: Int] = [:]
        var room = promptRoom
        for p in prompts.indices where room > 0 {
            let prompt = prompts[p]
            let count = min(room, prompt.ids.count - prompt.position)
            for position in prompt.position..<prompt.position + count {
                let last = position == prompt.ids.count - 1
                if last { lastTokens[batch.count] = p }
                batch.append(prompt.ids[position], position: position, sequence: prompt.sequence, logits: last,
                             adapter: prompt.job.request.adapter)
            }
            reading.append((p, count))
            room -= count
        }
        guard !batch.isEmpty else { return true }

        var firstSamples: [Int: [(sampler: Sampler, next: Int32)]] = [:]
        do {
            try model.forward(batch, cache: cache) { t, logits in
                if t < range.count {
                    active[range.lowerBound + t].next = active[range.lowerBound + t].sampler.sample(logits)
                } else if let p = lastTokens[t] {
                    firstSamples[p] = sampleFirst(prompts[p], logits)
                }
            }
        } catch {
            let jobs = active[range].map(\.job) + reading.map { prompts[$0.prompt].job }
            for job in jobs { fail(job, error) }
            return false
        }
        for i in range {
            active[i].position += 1
            accept(&active[i])
        }
        for (p, count) in reading { prompts[p].position += count }
        for (p, samples) in firstSamples.sorted(by: { $0.key < $1.key }) { begin(prompts[p], samples) }
        prompts.removeAll { $0.position == $0.ids.count }
        return true
    }

    /// Each sample's generator, seeded `seed + i`, and its first token from the prompt's last logits.
    private func sampleFirst(_ prompt: PendingPrompt, _ logits: UnsafePointer<Float>) -> [(sampler: Sampler, next: Int32)] {
        let request = prompt.job.request
        return (0..<request.count).map { i in
            var sampler = Sampler(parameters: request.sampling, seed: prompt.seed &+ UInt64(i),
                                  vocabularySize: model.config.vocabularySize, history: prompt.ids)
            let next = sampler.sample(logits)
            return (sampler, next)
        }
    }

    /// A prompt is read: keeps it (or the opening it shared, see `PrefixCacheKey`) for its
    /// owner's next request, forks it for each sample and takes the samples' first tokens.
    private func begin(_ prompt: PendingPrompt, _ samples: [(sampler: Sampler, next: Int32)]) {
        let request = prompt.job.request
        if let key = request.prefixCache {
            let kept = key.keepsSharedOpening && prompt.cached > 0 ? Array(prompt.ids.prefix(prompt.cached)) : prompt.ids
            prefixCache.keep(key, adapter: request.adapter, ids: kept, sequence: prompt.sequence)
        }
        for (i, first) in samples.enumerated() {
            var sample = ActiveSample(
                job: prompt.job, index: i, sequence: i == 0 ? prompt.sequence : cache.fork(prompt.sequence),
                sampler: first.sampler, detokenizer: StreamingDetokenizer(tokenizer: tokenizer),
                stops: StopMatcher(request.sampling.stop), seed: prompt.seed &+ UInt64(i), promptCount: prompt.ids.count,
                cachedPromptCount: prompt.cached, position: prompt.ids.count)
            sample.next = first.next
            accept(&sample)
            if sample.finish == nil { active.append(sample) } else { complete(sample) }
        }
    }

    /// Ends cancelled jobs: running samples finish as cancelled, and a job still reading its
    /// prompt reports every sample cancelled without text.
    private func endCancelled() {
        for i in active.indices where active[i].job.isCancelled { active[i].finish = .cancelled }
        for prompt in prompts where prompt.job.isCancelled {
            cache.remove(prompt.sequence)
            let job = prompt.job
            job.remaining = 0
            job.completion?(.success((0..<job.request.count).map { i in
                Generation(text: "", tokens: [], finishReason: .cancelled, promptTokenCount: prompt.ids.count,
                           cachedPromptTokenCount: prompt.cached, seed: prompt.seed &+ UInt64(i))
            }))
        }
        prompts.removeAll { $0.job.isCancelled }
        retireFinished()
    }

    /// Takes the sample's newly sampled token `next`: ends on end-of-turn, else appends it and
    /// releases the text it completes.
    private func accept(_ sample: inout ActiveSample) {
        let token = sample.next
        if tokenizer.endOfGeneration.contains(token) {
            sample.finish = .endOfTurn
            return
        }
        sample.tokens.append(token)
        sample.sampler.accept(token)
        let piece = (try? sample.detokenizer.append(token)) ?? ""
        emit(&sample, sample.stops.append(piece))
        if sample.stops.stopped {
            sample.finish = .stopString
        } else if sample.tokens.count >= sample.job.request.sampling.maxTokens || sample.position >= model.config.contextLength {
            sample.finish = .length
        }
    }

    private func emit(_ sample: inout ActiveSample, _ text: String) {
        guard !text.isEmpty else { return }
        sample.text += text
        sample.job.onText?(sample.index, text)
    }

    private func retireFinished() {
        guard active.contains(where: { $0.finish != nil }) else { return }
        var kept: [ActiveSample] = []
        for sample in active {
            if sample.finish == nil { kept.append(sample) } else { complete(sample) }
        }
        active = kept
    }

    /// Flushes held-back text, frees the sequence and reports the job when its last sample ends.
    private func complete(_ finished: ActiveSample) {
        var sample = finished
        if sample.finish != .stopString, sample.finish != .cancelled {
            emit(&sample, sample.stops.append(sample.detokenizer.finish()))
            emit(&sample, sample.stops.finish())
        }
        cache.remove(sample.sequence)
        let job = sample.job
        guard job.remaining > 0 else { return }
        job.results[sample.index] = Generation(text: sample.text, tokens: sample.tokens, finishReason: sample.finish ?? .length,
                                               promptTokenCount: sample.promptCount,
                                               cachedPromptTokenCount: sample.cachedPromptCount, seed: sample.seed)
        job.remaining -= 1
        if job.remaining == 0 { job.completion?(.success(job.results.map { $0! })) }
    }

    /// Ends every sample of a job, or its prompt still being read, with an error.
    private func fail(_ job: GenerationJob, _ error: Error) {
        for sample in active where sample.job === job { cache.remove(sample.sequence) }
        active.removeAll { $0.job === job }
        for prompt in prompts where prompt.job === job { cache.remove(prompt.sequence) }
        prompts.removeAll { $0.job === job }
        guard job.remaining > 0 else { return }
        job.remaining = 0
        job.completion?(.failure(error))
    }
}
