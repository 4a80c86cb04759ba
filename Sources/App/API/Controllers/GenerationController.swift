import HTTPServer
import Personalization

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
        router.post("/v1/users/{user_id}/generate", requests.authorized(.generate, generate))
        router.post("/v1/users/{user_id}/rank", requests.authorized(.generate, rank))
    }

    /// Which generator a request names: "local" or a configured upstream (its first model).
    private func generator(named name: String?) throws -> GenerationTarget {
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
        let body = try API.GenerateRequest(try await requests.jsonBody(request), limits: configuration)
        let target = try generator(named: body.generator)
        let found = try await records.find(caller, user)
        let summary = found.summary
        let turns = summary.map { prompts.generatorTurns(summary: $0.text, prompt: body.prompt) } ?? prompts.bareTurns(prompt: body.prompt)
        let prompt = try generations.checkPrompt(turns, maxTokens: body.sampling.maxTokens)
        try generations.checkCapacity(on: target, for: caller.tenantID)
        let upstreamUser = GenerationRunner.upstreamUser(caller, user)

        let usage = { @Sendable (output: GenerationOutput) in
            API.GenerationUsage(promptTokens: output.promptTokens, completionTokens: output.completionTokens,
                                cachedPromptTokens: output.cachedPromptTokens, summaryTokens: summary?.scores.summaryTokens, rawSignalTokens: summary?.scores.rawSignalTokens)
        }
        guard body.stream else {
            let output = try await generations.generate(prompt, settings: body.sampling, on: target, for: caller.tenantID, upstreamUser: upstreamUser,
                                                        prefixCache: found.prefixCacheKey, onDelta: nil)
            await records.recordUsage(found, output)
            return try Response.json(API.GenerateResponse(personalized: summary != nil, summaryVersion: summary?.version,
                                                          generator: target.name, text: output.text,
                                                          finishReason: output.finishReason, usage: usage(output)))
        }
        return Response.eventStream { [self] events in
            do {
                let output = try await generations.generate(prompt, settings: body.sampling, on: target, for: caller.tenantID, upstreamUser: upstreamUser,
                                                            prefixCache: found.prefixCacheKey) { piece in
                    try await events.send(data: try JSONBody.text(API.GenerateDelta(text: piece)), event: "delta")
                }
                await records.recordUsage(found, output)
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
        let body = try API.RankRequest(try await requests.jsonBody(request), limits: configuration)
        let summary = try await records.find(caller, user).summary
        let turns = summary.map { prompts.generatorTurns(summary: $0.text, prompt: body.prompt) } ?? prompts.bareTurns(prompt: body.prompt)
        let longest = body.responses.map { model.tokenCount($0) + 1 }.max() ?? 0
        _ = try generations.checkPrompt(turns, maxTokens: longest)
        let ranker = Ranker(model: model, prompts: prompts)
        let ranked = try await generations.withSlot(for: caller.tenantID) { try await ranker.rank(prompt: body.prompt, responses: body.responses, summary: summary?.text) }
        return try Response.json(API.RankResponse(personalized: summary != nil, summaryVersion: summary?.version, ranking: ranked.map {
            API.RankResponse.Ranked(index: $0.index, response: body.responses[$0.index], score: $0.score)
        }))
    }
}
