import Foundation
import HTTPServer
import LLMClient
import Personalization
import Store

/// OpenAI's chat completions and model list, so OpenAI's SDKs work against popi.
struct OpenAIController: Sendable {
    /// The model name of the in-process runtime.
    static let localModel = "popi-local"
    /// The `created` time of the models: when the service first built its list.
    private static let created = Date()

    let requests: RequestGuard
    let records: GenerationRecords
    let generations: GenerationRunner
    let upstreams: UpstreamRegistry
    let models: ServedModels
    let prompts: PromptBuilder
    let configuration: APIConfiguration

    func register(in router: inout Router) {
        router.post("/v1/chat/completions", requests.authorized(.generate, chatCompletions))
        // Encoded once: the models and adapters are fixed for the life of the process.
        let modelList = Result { try JSONBody.encode(listModels()) }
        router.get("/v1/models", requests.authorized(.read) { _, _ in
            .json(try modelList.get())
        })
    }

    private func listModels() -> API.ModelList {
        let created = Int(Self.created.timeIntervalSince1970)
        // Beside OpenAI's fields, the local model says which adapters it runs with.
        let local = API.Model(id: Self.localModel, created: created, ownedBy: "popi", adapters: API.LoadedAdapters(models))
        let upstreamModels = upstreams.routes.sorted(by: { $0.key < $1.key }).map { name, upstream in
            API.Model(id: name, created: created, ownedBy: upstream)
        }
        return API.ModelList(data: [local] + upstreamModels)
    }

    /// OpenAI's chat completions, personalized with the summary of the user named by `user` (or
    /// the `X-Popi-User` header): the summary section goes in front of the first user message.
    private func chatCompletions(_ request: Request, _ caller: Caller) async throws -> Response {
        let chat = try API.ChatCompletionRequest(try await requests.jsonBody(request), userHeader: request.headers["X-Popi-User"],
                                                 limits: configuration)
        let target: GenerationTarget
        if chat.model == Self.localModel {
            target = .local
        } else if let client = upstreams.client(forModel: chat.model) {
            target = .upstream(client, model: chat.model)
        } else {
            throw HTTPError.modelNotFound(chat.model)
        }
        let found: GenerationRecords.Found
        if let user = chat.user { found = try await records.find(caller, user) } else { found = .nobody }
        let summary = found.summary
        let turns = summary.map { prompts.personalize(conversation: chat.messages, summary: $0.text) } ?? chat.messages
        let prompt = try generations.checkPrompt(turns, maxTokens: chat.sampling.maxTokens)
        try generations.checkCapacity(on: target, for: caller.tenantID)

        let id = "chatcmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let created = Int(Date().timeIntervalSince1970)
        let popi = API.PopiInfo(personalized: summary != nil, summaryVersion: summary?.version)
        let upstreamUser = GenerationRunner.upstreamUser(caller, chat.user)
        let usage = { @Sendable (output: GenerationOutput) in
            Usage(promptTokens: output.promptTokens, completionTokens: output.completionTokens,
                  totalTokens: output.promptTokens + output.completionTokens,
                  promptTokensDetails: output.cachedPromptTokens.map { Usage.PromptTokensDetails(cachedTokens: $0) })
        }

        guard chat.stream else {
            let output = try await generations.generate(prompt, settings: chat.sampling, on: target, for: caller.tenantID, upstreamUser: upstreamUser,
                                                        prefixCache: found.prefixCacheKey, onDelta: nil)
            await records.recordUsage(found, output)
            let choice = API.ChatCompletion.Choice(index: 0, message: ChatCompletionMessage(role: "assistant", content: output.text),
                                                   finishReason: output.finishReason)
            return try Response.json(API.ChatCompletion(id: id, created: created, model: chat.model, choices: [choice],
                                                        usage: usage(output), popi: popi))
        }
        let chunk = { @Sendable (delta: ChatCompletionChunk.Delta, finish: String?) in
            try JSONBody.text(API.ChatCompletionChunk(id: id, created: created, model: chat.model, choices: [
                API.ChatCompletionChunk.Choice(index: 0, delta: delta, finishReason: finish),
            ]))
        }
        return Response.eventStream { [self] events in
            do {
                try await events.send(data: chunk(ChatCompletionChunk.Delta(role: "assistant", content: ""), nil))
                let output = try await generations.generate(prompt, settings: chat.sampling, on: target, for: caller.tenantID, upstreamUser: upstreamUser,
                                                            prefixCache: found.prefixCacheKey) { piece in
                    try await events.send(data: chunk(ChatCompletionChunk.Delta(content: piece), nil))
                }
                await records.recordUsage(found, output)
                try await events.send(data: chunk(ChatCompletionChunk.Delta(), output.finishReason))
                if chat.includeUsage {
                    try await events.send(data: JSONBody.text(API.ChatCompletionChunk(id: id, created: created, model: chat.model,
                                                                                      choices: [], usage: usage(output), popi: popi)))
                }
                try await events.send(data: "[DONE]")
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                try await generations.sendStreamError(error, to: events, openAI: true)
            }
        }
    }
}
