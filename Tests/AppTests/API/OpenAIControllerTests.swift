import Foundation
import Testing
@testable import App

/// `/v1/chat/completions` and `/v1/models` with the in-process model (`popi-local`), in OpenAI's
/// shapes. (Upstream models: GenerationRunnerTests; the official SDK: Tests/Conformance.)
@Suite struct OpenAIControllerTests {
    static func chat(user: String? = nil, stream: Bool = false, includeUsage: Bool = false) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": "popi-local", "max_tokens": 6, "temperature": 0, "seed": 3,
            "messages": [["role": "system", "content": "Be brief."], ["role": "user", "content": "Name a fruit."]],
        ]
        if let user { body["user"] = .string(user) }
        if stream { body["stream"] = true }
        if includeUsage { body["stream_options"] = ["include_usage": true] }
        return .object(body)
    }

    @Test func modelsListsTheLocalModel() async throws {
        try await withService { service in
            let models = try await service.tenant(scopes: [.read]).client.get("/v1/models")
            #expect(models.status == 200 && models.json["object"]?.string == "list", "\(models)")
            let local = (models.json["data"]?.array ?? []).first { $0["id"]?.string == "popi-local" }
            #expect(local?["object"]?.string == "model" && local?["owned_by"]?.string == "popi" && local?["created"]?.int != nil)
        }
    }

    @Test func chatCompletionWholeAndStreamedInOpenAIShapes() async throws {
        try await withService { service in
            let tenant = try await service.tenant()
            let client = tenant.client
            _ = try await client.post("/v1/users/lea/feedback", ["kind": "statement", "text": "Fruit lover."])
            _ = try await client.put("/v1/users/lea/summary", ["text": "Likes tropical fruit."])

            let plain = try await client.post("/v1/chat/completions", Self.chat())
            #expect(plain.status == 200, "\(plain)")
            let body = plain.json
            #expect(body["object"]?.string == "chat.completion" && body["model"]?.string == "popi-local")
            #expect(body["id"]?.string?.hasPrefix("chatcmpl-") == true && body["created"]?.int != nil)
            let choice = try #require(body["choices"]?[0])
            #expect(choice["index"]?.int == 0 && choice["message"]?["role"]?.string == "assistant")
            #expect(choice["message"]?["content"]?.string?.isEmpty == false)
            #expect(["stop", "length"].contains(choice["finish_reason"]?.string ?? ""))
            let usage = try #require(body["usage"])
            #expect(usage["total_tokens"]?.int == (usage["prompt_tokens"]?.int ?? -1) + (usage["completion_tokens"]?.int ?? -1))
            #expect(body["popi"]?["personalized"]?.bool == false)

            // `user` (or X-Popi-User) picks whose summary personalizes the request.
            let personal = try await client.post("/v1/chat/completions", Self.chat(user: "lea"))
            #expect(personal.json["popi"]?["personalized"]?.bool == true && personal.json["popi"]?["summary_version"]?.int == 1)
            #expect((personal.json["usage"]?["prompt_tokens"]?.int ?? 0) > (usage["prompt_tokens"]?.int ?? .max))
            let byHeader = try await client.post("/v1/chat/completions", Self.chat(), headers: [("X-Popi-User", "lea")])
            #expect(byHeader.json["popi"]?["personalized"]?.bool == true, "\(byHeader)")

            let streamed = try await client.post("/v1/chat/completions", Self.chat(stream: true, includeUsage: true))
            #expect(streamed.status == 200 && streamed.header("Content-Type")?.hasPrefix("text/event-stream") == true, "\(streamed)")
            let events = streamed.events
            #expect(events.allSatisfy { $0.event == nil }, "OpenAI streams use unnamed events")
            #expect(events.last?.data == "[DONE]", "\(streamed.text)")
            let chunks = events.dropLast().map(\.json)
            let id = chunks.first?["id"]?.string
            #expect(id?.hasPrefix("chatcmpl-") == true)
            #expect(chunks.allSatisfy { $0["object"]?.string == "chat.completion.chunk" && $0["id"]?.string == id && $0["model"]?.string == "popi-local" })
            #expect(chunks.first?["choices"]?[0]?["delta"]?["role"]?.string == "assistant")
            let usageChunk = try #require(chunks.last)
            #expect(usageChunk["choices"]?.array?.isEmpty == true && usageChunk["usage"]?["completion_tokens"] != nil)
            let finishChunk = try #require(chunks.dropLast().last)
            #expect(finishChunk["choices"]?[0]?["finish_reason"] == choice["finish_reason"])
            let text = chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.string }.joined()
            #expect(text == choice["message"]?["content"]?.string, "greedy: streamed and whole agree")
            #expect(usageChunk["usage"] == usage)

            // Without include_usage there is no usage chunk.
            let noUsage = try await client.post("/v1/chat/completions", Self.chat(stream: true)).events
            #expect(noUsage.dropLast().allSatisfy { $0.json["usage"] == nil } && noUsage.last?.data == "[DONE]")
        }
    }

    @Test func chatRequestsAreValidated() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let cases: [(JSONValue, Int, String)] = [
                (["messages": [["role": "user", "content": "hi"]]], 400, "model: is required"),
                (["model": "gpt-nowhere", "messages": [["role": "user", "content": "hi"]]], 404, "model_not_found"),
                (["model": "popi-local", "messages": []], 400, "messages: give at least one message"),
                (["model": "popi-local", "messages": [["role": "system", "content": "x"]]], 400, "need at least one user message"),
                (["model": "popi-local", "messages": [["role": "tool", "content": "x"]]], 400, "messages[0].role"),
                (["model": "popi-local", "messages": [["role": "user", "content": "hi"]], "n": 2], 400, "n: only 1 choice"),
                (["model": "popi-local", "messages": [["role": "user", "content": "hi"]], "stop": [1]], 400, "stop:"),
                // The string form has the list items' limit too.
                (["model": "popi-local", "max_tokens": 1, "messages": [["role": "user", "content": "hi"]],
                  "stop": .string(String(repeating: "s", count: 257))], 400, "each at most 256 bytes"),
            ]
            for (body, status, message) in cases {
                let refused = try await client.post("/v1/chat/completions", body)
                #expect(refused.status == status && refused.text.contains(message), "\(body.text): \(refused)")
            }
        }
    }
}
