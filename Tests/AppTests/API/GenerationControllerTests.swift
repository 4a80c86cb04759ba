import Foundation
import Testing
@testable import App
import InferenceRuntime
import Personalization

/// `…/generate` (whole and streamed as SSE) and `…/rank` on a real socket with the real model.
@Suite struct GenerationControllerTests {
    static let request: JSONValue = ["prompt": "Name a colour.", "max_tokens": 8, "temperature": 0, "seed": 7]

    @Test func generateWithoutASummaryIsUnpersonalizedAndWithOneIsPersonalized() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let bare = try await client.post("/v1/users/hana/generate", Self.request)
            #expect(bare.status == 200, "\(bare)")
            #expect(bare.json["personalized"]?.bool == false && bare.json["summary_version"]?.isNull == true)
            #expect(bare.json["generator"]?.string == "local")
            #expect(["stop", "length"].contains(bare.json["finish_reason"]?.string ?? ""))
            let bareUsage = try #require(bare.json["usage"])
            let completionTokens = try #require(bareUsage["completion_tokens"]?.int)
            #expect((1...8).contains(completionTokens) && bare.json["text"]?.string?.isEmpty == false)
            #expect(bareUsage["prompt_tokens"]?.int == (try service.model.promptTokens([.user("Name a colour.")]).count))
            #expect(bareUsage["summary_tokens"]?.isNull == true)

            _ = try await client.post("/v1/users/hana/feedback", ["kind": "statement", "text": "I love the sea."])
            let summaryText = "Answers in one word, about the sea."
            #expect(try await client.put("/v1/users/hana/summary", ["text": .string(summaryText)]).status == 200)
            let personalized = try await client.post("/v1/users/hana/generate", Self.request)
            #expect(personalized.status == 200, "\(personalized)")
            #expect(personalized.json["personalized"]?.bool == true && personalized.json["summary_version"]?.int == 1)
            let usage = try #require(personalized.json["usage"])
            // The prompt the model read is the generator template with the summary in it.
            let turns = PromptBuilder(model: service.model).generatorTurns(summary: summaryText, prompt: "Name a colour.")
            #expect(usage["prompt_tokens"]?.int == (try service.model.promptTokens(turns).count))
            #expect(usage["summary_tokens"]?.int == service.model.tokenCount(summaryText))
            // The summary text itself is never echoed back.
            #expect(!personalized.text.contains(summaryText))
        }
    }

    @Test func streamedGenerationIsSSEDeltasThenDoneWithUsage() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let whole = try await client.post("/v1/users/ivan/generate", Self.request)
            #expect(whole.status == 200, "\(whole)")

            var streamedRequest = Self.request.object ?? [:]
            streamedRequest["stream"] = true
            let streamed = try await client.post("/v1/users/ivan/generate", .object(streamedRequest))
            #expect(streamed.status == 200, "\(streamed)")
            #expect(streamed.header("Content-Type")?.hasPrefix("text/event-stream") == true)
            #expect(streamed.chunked, "SSE goes out in chunks as it is produced")
            let events = streamed.events
            #expect(events.count >= 2, "\(streamed.text)")
            let deltas = events.dropLast()
            #expect(deltas.allSatisfy { $0.event == "delta" }, "\(events)")
            #expect(events.last?.event == "done")
            // Each event is its own chunk, whole (a client can act on each as it arrives).
            #expect(streamed.chunks.allSatisfy { String(decoding: $0, as: UTF8.self).hasSuffix("\n\n") })
            let text = deltas.compactMap { $0.json["text"]?.string }.joined()
            #expect(text == whole.json["text"]?.string, "greedy: streamed and whole generations agree")
            let done = try #require(events.last?.json)
            #expect(done["personalized"]?.bool == false && done["generator"]?.string == "local")
            #expect(done["finish_reason"] == whole.json["finish_reason"])
            #expect(done["usage"]?["completion_tokens"] == whole.json["usage"]?["completion_tokens"])
            #expect(done["usage"]?["prompt_tokens"] == whole.json["usage"]?["prompt_tokens"])
            #expect(done["usage"]?["completion_tokens"]?.int ?? 0 >= deltas.count)
        }
    }

    /// `stop`, a string or a list of strings as on the chat route: the text ends before the first
    /// stop string (greedy, so the same text as without it, cut there).
    @Test func stopEndsTheTextBeforeTheStopStringInEitherForm() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let request: JSONValue = ["prompt": "Count from one to twenty, in words.", "max_tokens": 16, "temperature": 0, "seed": 7]
            let whole = try #require(try await client.post("/v1/users/ivo/generate", request).json["text"]?.string)
            let characters = Array(whole)
            try #require(characters.count >= 8, "\(whole)")
            let stop = String(characters[(characters.count / 2)..<(characters.count / 2 + 3)])
            let first = try #require(whole.range(of: stop))
            let expected = String(whole[..<first.lowerBound])
            for form: JSONValue in [.string(stop), [.string(stop)], [.string(stop), "never-in-the-text"]] {
                guard case .object(var fields) = request else { return }
                fields["stop"] = form
                let cut = try await client.post("/v1/users/ivo/generate", .object(fields))
                #expect(cut.status == 200 && cut.json["text"]?.string == expected, "stop \(form.text): \(cut) (whole: \(whole))")
                #expect(cut.json["finish_reason"]?.string == "stop")
            }
        }
    }

    /// A user's next request reads only what its prompt does not share with their previous one,
    /// with the same answer; a new summary version starts afresh.
    @Test func aUsersNextGenerationReusesTheirPromptPrefixUntilTheSummaryChanges() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            _ = try await client.post("/v1/users/kai/feedback", ["kind": "statement", "text": "I like maps."])
            #expect(try await client.put("/v1/users/kai/summary", ["text": "Likes answers that mention places."]).status == 200)
            let first = try await client.post("/v1/users/kai/generate", Self.request)
            #expect(first.status == 200 && first.json["usage"]?["cached_prompt_tokens"]?.int == 0, "\(first)")
            let second = try await client.post("/v1/users/kai/generate", Self.request)
            let usage = try #require(second.json["usage"])
            let cached = try #require(usage["cached_prompt_tokens"]?.int)
            let prompt = try #require(usage["prompt_tokens"]?.int)
            #expect(cached > 0 && cached < prompt, "\(second)")
            #expect(second.json["text"] == first.json["text"])

            let chat: JSONValue = ["model": "popi-local", "user": "kai", "max_tokens": 4, "temperature": 0,
                                   "messages": [["role": "user", "content": "Name a colour."]]]
            _ = try await client.post("/v1/chat/completions", chat)
            let again = try await client.post("/v1/chat/completions", chat)
            #expect((again.json["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.int ?? 0) > 0, "\(again)")

            #expect(try await client.put("/v1/users/kai/summary", ["text": "Likes answers about rivers."]).status == 200)
            let renewed = try await client.post("/v1/users/kai/generate", Self.request)
            #expect(renewed.json["summary_version"]?.int == 2)
            #expect(renewed.json["usage"]?["cached_prompt_tokens"]?.int == 0, "\(renewed)")
            let metrics = try await service.client(nil).get("/metrics")
            #expect(metrics.text.contains("popi_prefix_cache_lookups_total{result=\"hit\"}"), "\(metrics.text)")
            #expect(metrics.text.contains("popi_prefix_cache_dropped_total{reason=\"invalidated\"}"))
        }
    }

    @Test func generationInputsAreValidated() async throws {
        try await withService(configure: { $0.maxPromptTokens = 16; $0.maxGenerationTokens = 32 }) { service in
            let client = try await service.tenant().client
            let cases: [(JSONValue, String)] = [
                ([:], "prompt: is required"),
                (["prompt": ""], "prompt: must not be empty"),
                (["prompt": "hi", "max_tokens": 0], "max_tokens: must be an integer between 1 and 32"),
                (["prompt": "hi", "max_tokens": 33], "max_tokens: must be an integer between 1 and 32"),
                (["prompt": "hi", "temperature": 3], "temperature: must be a number between 0 and 2"),
                (["prompt": "hi", "stream": "yes"], "stream: must be true or false"),
                (["prompt": "hi", "generator": "nowhere"], "unknown generator"),
                (["prompt": "hi", "stop": [1]], "stop: a string or a list of at most 4"),
                (["prompt": "hi", "stop": ["a", "b", "c", "d", "e"]], "stop: a string or a list of at most 4"),
                (["prompt": "hi", "stop": [""]], "stop: a string or a list of at most 4"),
                (["prompt": "hi", "stop": .string(String(repeating: "s", count: 257))], "each at most 256 bytes"),
            ]
            for (body, message) in cases {
                let refused = try await client.post("/v1/users/jo/generate", body)
                #expect(refused.status == 400 && refused.errorMessage?.contains(message) == true, "\(body.text): \(refused)")
            }
            let long = try await client.post("/v1/users/jo/generate",
                                             ["prompt": .string(String(repeating: "many words here ", count: 10)), "max_tokens": 1])
            #expect(long.status == 400 && long.errorCode == "prompt_too_long", "\(long)")
            #expect(long.errorMessage?.contains("the limit is 16") == true)
        }
    }

    @Test func rankOrdersResponsesByScore() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let responses: [JSONValue] = ["Blue.", "The colour I would name is blue, as it is the colour of the sky.", "Red."]
            let ranked = try await client.post("/v1/users/kim/rank", ["prompt": "Name a colour.", "responses": .array(responses)])
            #expect(ranked.status == 200, "\(ranked)")
            #expect(ranked.json["personalized"]?.bool == false)
            let items = ranked.json["ranking"]?.array ?? []
            #expect(items.compactMap { $0["index"]?.int }.sorted() == [0, 1, 2])
            let scores = items.compactMap { $0["score"]?.number }
            #expect(scores.count == 3 && scores == scores.sorted(by: >), "best first: \(scores)")
            #expect(items.allSatisfy { item in item["index"]?.int.map { responses[$0] } == item["response"] })

            _ = try await client.post("/v1/users/kim/feedback", ["kind": "statement", "text": "Short."])
            _ = try await client.put("/v1/users/kim/summary", ["text": "Prefers one-word answers."])
            let personal = try await client.post("/v1/users/kim/rank", ["prompt": "Name a colour.", "responses": .array(responses)])
            #expect(personal.json["personalized"]?.bool == true && personal.json["summary_version"]?.int == 1, "\(personal)")

            for body: JSONValue in [["prompt": "x"], ["prompt": "x", "responses": []], ["prompt": "x", "responses": [""]],
                                    ["prompt": "x", "responses": [1]]] {
                #expect(try await client.post("/v1/users/kim/rank", body).status == 400, "\(body.text)")
            }
        }
    }
}
