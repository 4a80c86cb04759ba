extension EngineLoop {
    /// Prefills a generation's prompt once, forks it for each sample, and samples their first tokens.
    /// The prompt and every sample run with the request's adapter, if any.
    func start(_ job: GenerationJob) {
        let request = job.request
        let sequence: KVCache.SequenceID
        let ids: [Int32]
        do {
            ids = try promptTokens(request.prompt)
            try request.sampling.validate()
            try validate(request.adapter)
            guard (1...GenerationRequest.maxCount).contains(request.count) else {
                throw InferenceError.invalidParameter(name: "n", reason: "must be between 1 and \(GenerationRequest.maxCount)")
            }
            guard ids.count < model.config.contextLength else {
                throw InferenceError.contextOverflow(needed: ids.count + 1, limit: model.config.contextLength)
            }
            sequence = cache.create()
            do {
                try prefillAndSampleFirst(job, ids: ids, sequence: sequence)
            } catch {
                cache.remove(sequence)
                throw error
            }
        } catch {
            job.completion?(.failure(error))
        }
    }

    private func prefillAndSampleFirst(_ job: GenerationJob, ids: [Int32], sequence: KVCache.SequenceID) throws {
        let request = job.request
        let base = request.sampling.seed ?? UInt64.random(in: 0...UInt64.max)
        job.results = Array(repeating: nil, count: request.count)
        job.remaining = request.count
        var samples: [ActiveSample] = []
        try prefill(ids[...], sequence: sequence, start: 0, adapter: request.adapter) { logits in
            for i in 0..<request.count {
                let seed = base &+ UInt64(i)
                var sample = ActiveSample(
                    job: job, index: i, sequence: i == 0 ? sequence : cache.fork(sequence),
                    sampler: Sampler(parameters: request.sampling, seed: seed, vocabularySize: model.config.vocabularySize,
                                     history: ids),
                    detokenizer: StreamingDetokenizer(tokenizer: tokenizer), stops: StopMatcher(request.sampling.stop),
                    seed: seed, promptCount: ids.count, position: ids.count)
                sample.next = sample.sampler.sample(logits)
                samples.append(sample)
            }
        }
        for var sample in samples {
            accept(&sample)
            if sample.finish == nil { active.append(sample) } else { complete(sample) }
        }
    }

    /// Feeds every active sample its last token and samples its next one: one forward pass, or
    /// several when more samples are active than a batch holds.
    func decodeStep() {
        for i in active.indices where active[i].job.isCancelled { active[i].finish = .cancelled }
        retireFinished()
        var start = 0
        while start < active.count {
            let end = min(active.count, start + model.maxBatch)
            batch.removeAll()
            for i in start..<end {
                batch.append(active[i].next, position: active[i].position, sequence: active[i].sequence, logits: true,
                             adapter: active[i].job.request.adapter)
            }
            do {
                try model.forward(batch, cache: cache) { t, logits in
                    active[start + t].next = active[start + t].sampler.sample(logits)
                }
            } catch {
                for sample in active[start..<end] { fail(sample.job, error) }
                continue
            }
            for i in start..<end {
                active[i].position += 1
                accept(&active[i])
            }
            start = end
        }
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
                                               promptTokenCount: sample.promptCount, seed: sample.seed)
        job.remaining -= 1
        if job.remaining == 0 { job.completion?(.success(job.results.map { $0! })) }
    }

    /// Ends every sample of a job with an error.
    private func fail(_ job: GenerationJob, _ error: Error) {
        for sample in active where sample.job === job { cache.remove(sample.sequence) }
        active.removeAll { $0.job === job }
        guard job.remaining > 0 else { return }
        job.remaining = 0
        job.completion?(.failure(error))
    }
}
