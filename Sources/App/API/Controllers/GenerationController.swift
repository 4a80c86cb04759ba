import Foundation
import HTTPServer
import Personalization
import Store

/// Personalized generation (`/generate`, whole or streamed) and ranking (`/rank`).
struct GenerationController: Sendable {
    let requests: RequestGuard
    let records: GenerationRecords
    let generations: GenerationRunner
    let upstreams: UpstreamRegistry
    /// The base model: counts tokens and ranks responses.
    let model: any PreferenceModel
    let prompts: PromptBuilder
    let configuration: APIConfiguration

    func register(in router: inout Router) {
        router.post("/v1/users/{user_id}/generate", requests.authorized(.generate) { [self] request, caller in
            try await generate(request, caller)
        })
        router.post("/v1/users/{user_id}/rank", requests.authorized(.generate) { [self] request, caller in
            try await rank(request, caller)
        })
    }

    /// Sampling options shared by `/generate` and `/v1/chat/completions`.
    static func samplingSettings(_ fields: FieldReader, maxTokens maxTokensLimit: Int,
                                 maxTokensKeys: [String] = ["max_tokens"]) throws -> SamplingSettings {
        var maxTokens = 256
        for key in maxTokensKeys {
            if let value = try fields.integer(key, in: 1...maxTokensLimit) { maxTokens = value }
        }
        return SamplingSettings(
            maxTokens: maxTokens,
            temperature: try fields.number("temperature", in: 0...2) ?? 0.7,
            topP: try fields.number("top_p", in: 0.000_001...1) ?? 0.95,
            seed: UInt64(try fields.integer("seed", in: 0...Int(1 << 53)) ?? Int.random(in: 0...Int(Int32.max))))
    }

    /// Which generator a request names: "local" or a configured upstream (its first model).
    private func generator(named name: String?) throws -> Generator {
        guard let name, name != "local" else { return .local }
        guard let client = upstreams.client(named: name) else {
            throw HTTPError.unknownGenerator("unknown generator \"\(name)\" (local or a configured upstream)")
        }
        guard let model = client.configuration.models.keys.sorted().first else {
            throw HTTPError.unknownGenerator("upstream \(name) has no model configured")
        }
        return .upstream(client, model: model)
    }

    private func generate(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        let fields = try FieldReader(try await requests.jsonBody(request))
        let prompt = try fields.requiredString("prompt", maxLength: configuration.maxFieldBytes)
        let settings = try Self.samplingSettings(fields, maxTokens: configuration.maxGenerationTokens)
        let stream = try fields.bool("stream") ?? false
        let target = try generator(named: try fields.string("generator", maxLength: 64))
        let summary = try await records.currentSummary(caller, user)
        let turns = summary.map { prompts.generatorTurns(summary: $0.text, prompt: prompt) } ?? prompts.bareTurns(prompt: prompt)
        try generations.checkPrompt(turns, maxTokens: settings.maxTokens)
        if case .local = target { try generations.checkCapacity() }
        let upstreamUser = GenerationRunner.upstreamUser(caller, user)

        let usage = { @Sendable (output: GenerationOutput) in
            API.GenerationUsage(promptTokens: output.promptTokens, completionTokens: output.completionTokens,
                                summaryTokens: summary?.scores.summaryTokens, rawSignalTokens: summary?.scores.rawSignalTokens)
        }
        guard stream else {
            let output = try await generations.generate(turns, settings: settings, on: target, upstreamUser: upstreamUser, onDelta: nil)
            await records.recordUsage(caller, user, output)
            return try Response.json(API.GenerateResponse(personalized: summary != nil, summaryVersion: summary?.version,
                                                          generator: target.name, text: output.text,
                                                          finishReason: output.finishReason, usage: usage(output)))
        }
        return Response.eventStream { [self] events in
            do {
                let output = try await generations.generate(turns, settings: settings, on: target, upstreamUser: upstreamUser) { piece in
                    try await events.send(data: try JSONBody.text(API.GenerateDelta(text: piece)), event: "delta")
                }
                await records.recordUsage(caller, user, output)
                let done = API.GenerateDone(personalized: summary != nil, summaryVersion: summary?.version, generator: target.name,
                                            finishReason: output.finishReason, usage: usage(output))
                try await events.send(data: try JSONBody.text(done), event: "done")
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                try await generations.sendStreamError(error, to: events)
            }
        }
    }

    /// `{prompt, responses[]}` → responses best first by the user's personalized preference.
    private func rank(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        let fields = try FieldReader(try await requests.jsonBody(request))
        let prompt = try fields.requiredString("prompt", maxLength: configuration.maxFieldBytes)
        let items = try fields.array("responses", required: true, maxCount: 32) ?? []
        guard items.count >= 1 else { throw HTTPError.invalidRequest("responses: give at least one response") }
        let responses = try items.enumerated().map { index, item -> String in
            guard case .string(let text) = item, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                  text.utf8.count <= configuration.maxFieldBytes else {
                throw HTTPError.invalidRequest("responses[\(index)]: must be a non-empty string of at most \(configuration.maxFieldBytes) bytes")
            }
            return text
        }
        let summary = try await records.currentSummary(caller, user)
        let turns = summary.map { prompts.generatorTurns(summary: $0.text, prompt: prompt) } ?? prompts.bareTurns(prompt: prompt)
        let longest = responses.map { model.tokenCount($0) + 1 }.max() ?? 0
        try generations.checkPrompt(turns, maxTokens: longest)
        let ranker = Ranker(model: model, prompts: prompts)
        let ranked = try await generations.withSlot { try await ranker.rank(prompt: prompt, responses: responses, summary: summary?.text) }
        return try Response.json(API.RankResponse(personalized: summary != nil, summaryVersion: summary?.version, ranking: ranked.map {
            API.RankResponse.Ranked(index: $0.index, response: responses[$0.index], score: $0.score)
        }))
    }
}
