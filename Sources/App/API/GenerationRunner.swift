import Crypto
import Foundation
import HTTPServer
import InferenceRuntime
import LLMClient
import Logging
import Personalization
import Store
import Synchronization

/// Runs generations for the routes that answer prompts: checks the prompt and the capacity,
/// holds an in-process slot while the local model works (not while a slow client reads the
/// rest), holds an upstream slot for an upstream call, and counts tokens. Both kinds of slot
/// are shared fairly between tenants.
struct GenerationRunner: Sendable {
    let models: ServedModels
    let slots: ConcurrencyGate<TenantID>
    let upstreamSlots: ConcurrencyGate<TenantID>
    let maxPromptTokens: Int
    let metrics: ServiceMetrics
    let logger: Logger

    /// The base model: counts tokens.
    private var model: any PreferenceModel { models.base }

    /// Refuses at once (503, or 429 for a tenant over its share) when the generation could not
    /// even wait for a slot, so a streamed response never starts only to report that.
    func checkCapacity(on target: GenerationTarget, for tenant: TenantID) throws {
        let upstream = if case .local = target { false } else { true }
        if let refusal = (upstream ? upstreamSlots : slots).refusal(for: tenant) { throw refused(refusal, upstream: upstream) }
    }

    /// Runs `body` holding one of the in-process generation slots.
    func withSlot<T: Sendable>(for tenant: TenantID, _ body: () async throws -> T) async throws -> T {
        do {
            return try await slots.run(tenant, body)
        } catch let refusal as ConcurrencyGate<TenantID>.Refusal {
            throw refused(refusal, upstream: false)
        }
    }

    private func refused(_ refusal: ConcurrencyGate<TenantID>.Refusal, upstream: Bool) -> HTTPError {
        let reason = refusal == .queueFull ? "queue_full" : "tenant_share"
        metrics.registry.increment(upstream ? "popi_upstream_calls_rejected_total" : "popi_generations_rejected_total", [reason])
        return refusal == .queueFull ? (upstream ? .upstreamBusy : .busy) : .tenantBusy
    }

    /// A conversation whose length was checked, with its tokens: the local model reads those and
    /// does not template and tokenize the conversation again.
    struct CheckedPrompt: Sendable {
        let messages: [ChatMessage]
        let tokens: [Int32]
    }

    /// Checks the prompt fits: at most `maxPromptTokens`, and with `maxTokens` inside the context.
    func checkPrompt(_ messages: [ChatMessage], maxTokens: Int) throws -> CheckedPrompt {
        let tokens: [Int32]
        do {
            tokens = try model.promptTokens(messages)
        } catch {
            throw HTTPError.invalidPrompt("prompt", error)
        }
        guard tokens.count <= maxPromptTokens else {
            throw HTTPError.promptTooLong("the prompt has \(tokens.count) tokens; the limit is \(maxPromptTokens)")
        }
        guard tokens.count + maxTokens <= model.contextLength else {
            throw HTTPError.promptTooLong("prompt (\(tokens.count) tokens) plus max_tokens (\(maxTokens)) exceeds the model's context of \(model.contextLength)")
        }
        return CheckedPrompt(messages: messages, tokens: tokens)
    }

    /// One generation, streamed to `onDelta` as it is produced (pass nil to get it whole). A
    /// throwing `onDelta` (the client went away) cancels the generation. The local model keeps
    /// the prompt under `prefixCache` for the user's next request.
    func generate(_ prompt: CheckedPrompt, settings: SamplingParameters, on target: GenerationTarget, for tenant: TenantID,
                  upstreamUser: String?, prefixCache: PrefixCacheKey?,
                  onDelta: (@Sendable (String) async throws -> Void)?) async throws -> GenerationOutput {
        switch target {
        case .local:
            return try await generateLocally(prompt.tokens, settings: settings, for: tenant, prefixCache: prefixCache, onDelta: onDelta)
        case let .upstream(client, upstreamModel):
            let request = ChatCompletionRequest(
                model: upstreamModel, messages: prompt.messages.map(ChatCompletionMessage.init),
                maxTokens: settings.maxTokens, temperature: settings.temperature, topP: settings.topP,
                seed: settings.seed.map { Int(clamping: $0) }, stop: settings.stop.isEmpty ? nil : settings.stop, user: upstreamUser)
            do {
                let output: GenerationOutput
                do {
                    output = try await upstreamSlots.run(tenant) {
                        try await callUpstream(client, request, promptTokens: prompt.tokens.count, onDelta: onDelta)
                    }
                } catch let refusal as ConcurrencyGate<TenantID>.Refusal {
                    throw refused(refusal, upstream: true)
                }
                metrics.registry.increment("popi_upstream_requests_total", [client.configuration.name, "ok"])
                record(output, generator: client.configuration.name)
                return output
            } catch let error as LLMClientError {
                metrics.registry.increment("popi_upstream_requests_total", [client.configuration.name, error.outcome])
                if case .cancelled = error { throw CancellationError() }
                // The client gets a short message (HTTPError.from); the whole story is here. An
                // upstream's own message may quote the request, so it is logged at debug only.
                logger.warning("upstream call failed", metadata: ["upstream": "\(client.configuration.name)", "outcome": "\(error.outcome)"])
                logger.debug("upstream failure detail", metadata: ["error": "\(error)"])
                throw error
            }
        }
    }

    private func generateLocally(_ tokens: [Int32], settings: SamplingParameters, for tenant: TenantID,
                                 prefixCache: PrefixCacheKey?, onDelta: (@Sendable (String) async throws -> Void)?) async throws -> GenerationOutput {
        // Decode speed is timed from the first token, so queueing and reading the prompt are left out.
        let firstToken = Mutex<ContinuousClock.Instant?>(nil)
        let markFirst = { @Sendable in firstToken.withLock { if $0 == nil { $0 = .now } } }
        let generate = { @Sendable (onText: @escaping @Sendable (String) -> Void) async throws -> Generation in
            try await withSlot(for: tenant) {
                try await models.generator.generate(.tokens(tokens), settings: settings, prefixCache: prefixCache, onText: { markFirst(); onText($0) })
            }
        }
        let generation: Generation
        if let onDelta {
            // The runtime calls back synchronously; a stream carries the pieces to an async writer
            // whose failure (client gone) cancels the generation. The slot is released as soon as
            // the model finishes: what a slow client has not read yet waits in the stream, at
            // most the `max_tokens` just generated.
            let (pieces, sink) = AsyncStream<String>.makeStream()
            generation = try await withThrowingTaskGroup(of: Generation?.self) { group in
                group.addTask {
                    defer { sink.finish() }
                    return try await generate { sink.yield($0) }
                }
                group.addTask {
                    for await piece in pieces { try await onDelta(piece) }
                    return nil
                }
                var result: Generation?
                do {
                    for try await value in group where value != nil { result = value }
                } catch {
                    group.cancelAll()
                    throw error
                }
                return result!
            }
        } else {
            generation = try await generate { _ in }
        }
        if generation.finishReason == .cancelled { throw CancellationError() }
        if let first = firstToken.withLock({ $0 }), generation.tokens.count > 1 {
            let seconds = (ContinuousClock.now - first) / .seconds(1)
            if seconds > 0 {
                metrics.registry.observe("popi_generation_tokens_per_second", [], Double(generation.tokens.count - 1) / seconds)
            }
        }
        let output = GenerationOutput(generation)
        record(output, generator: "local")
        return output
    }

    /// `promptTokens` (the local tokenizer's count) stands in when the upstream reports no usage.
    private func callUpstream(_ client: OpenAIClient, _ request: ChatCompletionRequest, promptTokens: Int,
                              onDelta: (@Sendable (String) async throws -> Void)?) async throws -> GenerationOutput {
        guard let onDelta else {
            let completion = try await client.complete(request)
            let text = completion.choices.first?.message.content ?? ""
            return GenerationOutput(text: text,
                                    promptTokens: completion.usage?.promptTokens ?? promptTokens,
                                    completionTokens: completion.usage?.completionTokens ?? model.tokenCount(text),
                                    finishReason: completion.choices.first?.finishReason ?? "stop")
        }
        var streamed = request
        streamed.streamOptions = .init(includeUsage: true)
        var text = ""
        var usage: Usage?
        var finish = "stop"
        for try await chunk in client.stream(streamed) {
            if let piece = chunk.choices.first?.delta.content, !piece.isEmpty {
                text += piece
                try await onDelta(piece)
            }
            if let reason = chunk.choices.first?.finishReason { finish = reason }
            if let chunkUsage = chunk.usage { usage = chunkUsage }
        }
        // Some servers ignore include_usage: count with the local tokenizer then (an estimate).
        return GenerationOutput(text: text,
                                promptTokens: usage?.promptTokens ?? promptTokens,
                                completionTokens: usage?.completionTokens ?? model.tokenCount(text), finishReason: finish)
    }

    private func record(_ output: GenerationOutput, generator: String) {
        metrics.registry.increment("popi_prompt_tokens_total", [generator], by: Double(output.promptTokens))
        metrics.registry.increment("popi_generated_tokens_total", [generator], by: Double(output.completionTokens))
    }

    /// What the upstream sees instead of the user's id: a stable, non-reversible hash of tenant and user.
    static func upstreamUser(_ caller: Caller, _ user: String?) -> String? {
        guard let user else { return nil }
        return "popi-" + SHA256.hex("popi-user\u{0}\(caller.tenantID)\u{0}\(user)").prefix(32)
    }

    /// Ends an event stream with an error (never a silent cut): an `error` event here; for the
    /// OpenAI shape (`openAI`), a plain data event holding "error", which OpenAI's SDKs raise.
    func sendStreamError(_ error: Error, to events: ServerSentEventWriter, openAI: Bool = false) async throws {
        let mapped = HTTPError.from(error)
        let http = (mapped as? HTTPError) ?? .generationFailed
        if !(mapped is HTTPError) { logger.error("streamed generation failed", metadata: ["error": "\(error)"]) }
        try await events.send(data: try JSONBody.text(API.StreamError(http, openAI: openAI)), event: openAI ? nil : "error")
    }
}
