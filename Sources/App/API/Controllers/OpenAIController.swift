import Foundation
import HTTPServer
import LLMClient
import Personalization
import Store

/// OpenAI's chat completions and model list, so OpenAI's SDKs work against popi.
struct OpenAIController: Sendable {
    /// The model name of the in-process runtime.
    static let localModel = "popi-local"
    /// The `created` time of the models: when they were first listed.
    private static let created = Date()

    let requests: RequestGuard
    let records: GenerationRecords
    let generations: GenerationRunner
    let upstreams: UpstreamRegistry
    let models: ServedModels
    let prompts: PromptBuilder
    let configuration: APIConfiguration

    func register(in router: inout Router) {
        router.post("/v1/chat/completions", requests.authorized(.generate) { [self] request, caller in
            try await chatCompletions(request, caller)
        })
        router.get("/v1/models", requests.authorized(.read) { [self] _, _ in
            let created = Int(Self.created.timeIntervalSince1970)
            // Beside OpenAI's fields, the local model says which adapters it runs with.
            let local = API.Model(id: Self.localModel, created: created, ownedBy: "popi", adapters: API.LoadedAdapters(models))
            let upstreamModels = upstreams.routes.sorted(by: { $0.key < $1.key }).map { name, upstream in
                API.Model(id: name, created: created, ownedBy: upstream)
            }
            return try Response.json(API.ModelList(data: [local] + upstreamModels))
        })
    }

    /// OpenAI's chat completions, personalized with the summary of the user named by `user` (or
    /// the `X-Popi-User` header): the summary section goes in front of the last user message.
    private func chatCompletions(_ request: Request, _ caller: Caller) async throws -> Response {
        let fields = try FieldReader(try await requests.jsonBody(request))
        let modelName = try fields.requiredString("model", maxLength: 256)
        let conversation = try messages(fields)
        var settings = try GenerationController.samplingSettings(fields, maxTokens: configuration.maxGenerationTokens,
                                                                 maxTokensKeys: ["max_tokens", "max_completion_tokens"])
        settings.stop = try stopSequences(fields)
        if let n = try fields.integer("n", in: 1...128), n != 1 {
            throw HTTPError.invalidRequest("n: only 1 choice is supported")
        }
        let stream = try fields.bool("stream") ?? false
        let includeUsage = try fields.object("stream_options").map { try FieldReader($0, path: "stream_options").bool("include_usage") ?? false } ?? false
        let header = request.headers["X-Popi-User"]
        if let header, !RequestGuard.isValidUserID(header) {
            throw HTTPError.invalidRequest("X-Popi-User: must be 1-256 bytes without control characters")
        }
        let user = try fields.string("user", maxLength: 256) ?? header
        if let user, !RequestGuard.isValidUserID(user) {
            throw HTTPError.invalidRequest("user: must be 1-256 bytes without control characters")
        }

        let target: Generator
        if modelName == Self.localModel {
            target = .local
        } else if let client = upstreams.client(forModel: modelName) {
            target = .upstream(client, model: modelName)
        } else {
            throw HTTPError.modelNotFound(modelName)
        }
        var summary: SummaryVersion?
        if let user { summary = try await records.currentSummary(caller, user) }
        let turns = summary.map { prompts.personalize(conversation: conversation, summary: $0.text) } ?? conversation
        try generations.checkPrompt(turns, maxTokens: settings.maxTokens)
        if case .local = target { try generations.checkCapacity() }

        let id = "chatcmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let created = Int(Date().timeIntervalSince1970)
        let popi = API.PopiInfo(personalized: summary != nil, summaryVersion: summary?.version)
        let upstreamUser = GenerationRunner.upstreamUser(caller, user)
        let usage = { @Sendable (output: GenerationOutput) in
            Usage(promptTokens: output.promptTokens, completionTokens: output.completionTokens,
                  totalTokens: output.promptTokens + output.completionTokens)
        }

        guard stream else {
            let output = try await generations.generate(turns, settings: settings, on: target, upstreamUser: upstreamUser, onDelta: nil)
            if let user { await records.recordUsage(caller, user, output) }
            let choice = API.ChatCompletion.Choice(index: 0, message: ChatMessage(role: "assistant", content: output.text),
                                                   finishReason: output.finishReason)
            return try Response.json(API.ChatCompletion(id: id, created: created, model: modelName, choices: [choice],
                                                        usage: usage(output), popi: popi))
        }
        let chunk = { @Sendable (delta: ChatCompletionChunk.Delta, finish: String?) in
            try JSONBody.text(API.ChatCompletionChunk(id: id, created: created, model: modelName, choices: [
                API.ChatCompletionChunk.Choice(index: 0, delta: delta, finishReason: finish),
            ]))
        }
        return Response.eventStream { [self, settings] events in
            do {
                try await events.send(data: chunk(ChatCompletionChunk.Delta(role: "assistant", content: ""), nil))
                let output = try await generations.generate(turns, settings: settings, on: target, upstreamUser: upstreamUser) { piece in
                    try await events.send(data: chunk(ChatCompletionChunk.Delta(content: piece), nil))
                }
                if let user { await records.recordUsage(caller, user, output) }
                try await events.send(data: chunk(ChatCompletionChunk.Delta(), output.finishReason))
                if includeUsage {
                    try await events.send(data: JSONBody.text(API.ChatCompletionChunk(id: id, created: created, model: modelName,
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

    /// OpenAI messages: roles system / developer (as system) / user / assistant; content a string
    /// or a list of text parts.
    private func messages(_ fields: FieldReader) throws -> [ChatTurn] {
        let items = try fields.array("messages", required: true, maxCount: 512) ?? []
        guard !items.isEmpty else { throw HTTPError.invalidRequest("messages: give at least one message") }
        let turns = try items.enumerated().map { index, item -> ChatTurn in
            let message = try FieldReader(item, path: "messages[\(index)]")
            let role: ChatTurn.Role
            switch try message.string("role", required: true, maxLength: 32) {
            case "system", "developer": role = .system
            case "user": role = .user
            case "assistant": role = .assistant
            default: throw HTTPError.invalidRequest("messages[\(index)].role: must be system, developer, user or assistant")
            }
            let text: String
            switch message.fields["content"] {
            case .string(let content)?:
                text = content
            case .array(let parts)?:
                text = try parts.enumerated().map { partIndex, part in
                    let reader = try FieldReader(part, path: "messages[\(index)].content[\(partIndex)]")
                    guard try reader.string("type", required: true) == "text" else {
                        throw HTTPError.invalidRequest("messages[\(index)].content[\(partIndex)].type: only text parts are supported")
                    }
                    return try reader.string("text", required: true, nonEmpty: false, maxLength: configuration.maxFieldBytes) ?? ""
                }.joined()
            case .null? where role == .assistant, nil where role == .assistant:
                text = ""
            default:
                throw HTTPError.invalidRequest("messages[\(index)].content: must be a string or a list of text parts")
            }
            guard text.utf8.count <= configuration.maxFieldBytes else {
                throw HTTPError.invalidRequest("messages[\(index)].content: longer than \(configuration.maxFieldBytes) bytes")
            }
            return ChatTurn(role, text)
        }
        guard turns.contains(where: { $0.role == .user }) else {
            throw HTTPError.invalidRequest("messages: need at least one user message")
        }
        guard turns.contains(where: { !$0.content.isEmpty }) else {
            throw HTTPError.invalidRequest("messages: need at least one message with text")
        }
        return turns
    }

    private func stopSequences(_ fields: FieldReader) throws -> [String] {
        switch fields.fields["stop"] {
        case nil, .null?: return []
        case .string(let text)?: return text.isEmpty ? [] : [text]
        case .array(let items)? where items.count <= 4:
            return try items.map {
                guard case .string(let text) = $0, !text.isEmpty, text.utf8.count <= 256 else {
                    throw HTTPError.invalidRequest("stop: each stop sequence must be a non-empty string of at most 256 bytes")
                }
                return text
            }
        default: throw HTTPError.invalidRequest("stop: a string or a list of at most 4 strings")
        }
    }
}
