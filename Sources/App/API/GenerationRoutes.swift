import Foundation
import HTTPServer
import Personalization
import Store

extension PopiAPI {
    func addGenerationRoutes(to router: inout Router) {
        router.post("/v1/users/{user_id}/generate", authorized(.generate) { [self] request, caller in
            try await generate(request, caller)
        })
        router.post("/v1/users/{user_id}/rank", authorized(.generate) { [self] request, caller in
            try await rank(request, caller)
        })
    }

    /// The summary that personalizes requests for `user`, if the user exists and has one.
    func currentSummary(_ caller: Caller, _ user: String) async throws -> SummaryVersion? {
        try await run {
            guard let found = try await store.users.find(tenant: caller.tenantID, externalID: user) else { return nil }
            return try await store.summaries.current(user: found.id)
        }
    }

    /// Sampling options shared by `/generate` and `/v1/chat/completions`.
    func samplingSettings(_ fields: FieldReader, maxTokensKeys: [String] = ["max_tokens"]) throws -> SamplingSettings {
        var maxTokens = 256
        for key in maxTokensKeys {
            if let value = try fields.integer(key, in: 1...configuration.maxGenerationTokens) { maxTokens = value }
        }
        return SamplingSettings(
            maxTokens: maxTokens,
            temperature: try fields.number("temperature", in: 0...2) ?? 0.7,
            topP: try fields.number("top_p", in: 0.000_001...1) ?? 0.95,
            seed: UInt64(try fields.integer("seed", in: 0...Int(1 << 53)) ?? Int.random(in: 0...Int(Int32.max))))
    }

    /// Which generator a request names: "local" or a configured upstream (its first model).
    func generator(named name: String?) throws -> Generator {
        guard let name, name != "local" else { return .local }
        guard let client = upstreams.client(named: name) else {
            throw HTTPError.badRequest("unknown generator \"\(name)\" (local or a configured upstream)", code: "unknown_generator")
        }
        guard let model = client.configuration.models.keys.sorted().first else {
            throw HTTPError.badRequest("upstream \(name) has no model configured", code: "unknown_generator")
        }
        return .upstream(client, model: model)
    }

    func generate(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try userID(request)
        let fields = try FieldReader(try await jsonBody(request))
        let prompt = try fields.requiredString("prompt", maxLength: configuration.maxFieldBytes)
        let settings = try samplingSettings(fields)
        let stream = try fields.bool("stream") ?? false
        let target = try generator(named: try fields.string("generator", maxLength: 64))
        let summary = try await currentSummary(caller, user)
        let turns = summary.map { prompts.generatorTurns(summary: $0.text, prompt: prompt) } ?? prompts.bareTurns(prompt: prompt)
        _ = try checkPrompt(turns, maxTokens: settings.maxTokens)
        if case .local = target { try checkGenerationCapacity() }
        let upstreamUser = self.upstreamUser(caller, user)

        let context: [String: JSONValue] = [
            "personalized": .bool(summary != nil),
            "summary_version": .optional(summary?.version),
            "generator": .string(target.name),
        ]
        let usage = { @Sendable (output: GenerationOutput) -> JSONValue in
            .object([
                "prompt_tokens": .int(output.promptTokens),
                "completion_tokens": .int(output.completionTokens),
                "summary_tokens": .optional(summary?.scores.summaryTokens),
                "raw_signal_tokens": .optional(summary?.scores.rawSignalTokens),
            ])
        }
        guard stream else {
            let output = try await generate(turns, settings: settings, on: target, upstreamUser: upstreamUser, onDelta: nil)
            await recordUsage(caller, user, output)
            var body = context
            body["text"] = .string(output.text)
            body["finish_reason"] = .string(output.finishReason)
            body["usage"] = usage(output)
            return JSONValue.object(body).response()
        }
        return Response.eventStream { [self] events in
            do {
                let output = try await generate(turns, settings: settings, on: target, upstreamUser: upstreamUser) { piece in
                    try await events.send(data: String(decoding: JSONValue.object(["text": .string(piece)]).bytes, as: UTF8.self), event: "delta")
                }
                await recordUsage(caller, user, output)
                var done = context
                done["finish_reason"] = .string(output.finishReason)
                done["usage"] = usage(output)
                try await events.send(data: String(decoding: JSONValue.object(done).bytes, as: UTF8.self), event: "done")
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                try await sendStreamError(error, to: events)
            }
        }
    }

    /// Ends an event stream with an error (never a silent cut): an `error` event here; for the
    /// OpenAI shape (`openAI`), a plain data event holding "error", which OpenAI's SDKs raise.
    func sendStreamError(_ error: Error, to events: ServerSentEventWriter, openAI: Bool = false) async throws {
        let http = (error as? HTTPError) ?? HTTPError(.internalServerError, code: "internal", message: "generation failed")
        if !(error is HTTPError) { logger.error("streamed generation failed", metadata: ["error": "\(error)"]) }
        var fields: [String: JSONValue] = ["code": .string(http.code), "message": .string(http.message)]
        if openAI { fields["type"] = .string("server_error") }
        let data = String(decoding: JSONValue.object(["error": .object(fields)]).bytes, as: UTF8.self)
        try await events.send(data: data, event: openAI ? nil : "error")
    }

    func recordUsage(_ caller: Caller, _ user: String, _ output: GenerationOutput) async {
        guard let found = try? await store.users.find(tenant: caller.tenantID, externalID: user) else { return }
        try? await store.usage.record(user: found.id, promptTokens: output.promptTokens, completionTokens: output.completionTokens)
    }

    /// `{prompt, responses[]}` → responses best first by the user's personalized preference.
    func rank(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try userID(request)
        let fields = try FieldReader(try await jsonBody(request))
        let prompt = try fields.requiredString("prompt", maxLength: configuration.maxFieldBytes)
        let items = try fields.array("responses", required: true, maxCount: 32) ?? []
        guard items.count >= 1 else { throw FieldReader.invalid("responses: give at least one response") }
        let responses = try items.enumerated().map { index, item -> String in
            guard case .string(let text) = item, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                  text.utf8.count <= configuration.maxFieldBytes else {
                throw FieldReader.invalid("responses[\(index)]: must be a non-empty string of at most \(configuration.maxFieldBytes) bytes")
            }
            return text
        }
        let summary = try await currentSummary(caller, user)
        let turns = summary.map { prompts.generatorTurns(summary: $0.text, prompt: prompt) } ?? prompts.bareTurns(prompt: prompt)
        let longest = responses.map { model.tokenCount($0) + 1 }.max() ?? 0
        _ = try checkPrompt(turns, maxTokens: longest)
        let ranker = Ranker(model: model, prompts: prompts)
        let ranked = try await withGenerationSlot { try await ranker.rank(prompt: prompt, responses: responses, summary: summary?.text) }
        return JSONValue.object([
            "personalized": .bool(summary != nil),
            "summary_version": .optional(summary?.version),
            "ranking": .array(ranked.map { item in
                .object([
                    "index": .int(item.index),
                    "response": .string(responses[item.index]),
                    "score": .number(item.score),
                ])
            }),
        ]).response()
    }
}
