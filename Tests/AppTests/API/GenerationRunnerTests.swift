import Foundation
import InferenceRuntime
import Synchronization
import Testing
@testable import App
import HTTPServer

/// Generator transfer, App side: requests for an upstream model (or `generator: "<upstream>"`)
/// go to an OpenAI-compatible upstream with the user's summary in the prompt and a hashed user
/// id, and its failures map to 502 / 504 / 503 or an SSE error event. The upstream is a stub on
/// our HTTP server (LLMClientTests run the real llama-cpp-python server).
@Suite struct GenerationRunnerTests {
    /// Answers whole or streamed, as the request asks.
    static func echoingStub() throws -> StubUpstream {
        try StubUpstream { _, request, _ in
            request["stream"]?.bool == true ? StubUpstream.stream(["Hel", "lo ", "there"]) : StubUpstream.completion("Hello there")
        }
    }

    /// A user with a pinned edited summary; returns the summary text.
    static func userWithSummary(_ client: TestHTTPClient, _ user: String) async throws -> String {
        let summary = "Loves haiku \(UUID().uuidString.prefix(6))."
        #expect(try await client.post("/v1/users/\(user)/feedback", ["kind": "statement", "text": "I write haiku."]).status == 200)
        #expect(try await client.put("/v1/users/\(user)/summary", ["text": .string(summary)]).status == 200)
        return summary
    }

    static func chat(user: String?, stream: Bool = false) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": "stub-chat", "max_tokens": 8, "temperature": 0,
            "messages": [["role": "system", "content": "Be brief."], ["role": "user", "content": "Write about rain."]],
        ]
        if let user { body["user"] = .string(user) }
        if stream { body["stream"] = true; body["stream_options"] = ["include_usage": true] }
        return .object(body)
    }

    @Test func chatCompletionsForAnUpstreamModelCarryTheSummaryAndAHashedUser() async throws {
        let stub = try Self.echoingStub()
        try await withService(upstreams: [try stub.configuration()]) { service in
            let tenant = try await service.tenant()
            let rawUser = "raw-user-\(UUID().uuidString)"
            let summary = try await Self.userWithSummary(tenant.client, rawUser)

            let models = try await tenant.client.get("/v1/models").json["data"]?.array ?? []
            #expect(models.contains { $0["id"]?.string == "stub-chat" && $0["owned_by"]?.string == "stub" })

            let whole = try await tenant.client.post("/v1/chat/completions", Self.chat(user: rawUser))
            #expect(whole.status == 200, "\(whole)")
            #expect(whole.json["object"]?.string == "chat.completion" && whole.json["model"]?.string == "stub-chat")
            #expect(whole.json["choices"]?[0]?["message"]?["content"]?.string == "Hello there")
            #expect(whole.json["choices"]?[0]?["finish_reason"]?.string == "stop")
            #expect(whole.json["usage"] == ["prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14], "the upstream's own usage")
            #expect(whole.json["popi"]?["personalized"]?.bool == true)

            let streamed = try await tenant.client.post("/v1/chat/completions", Self.chat(user: rawUser, stream: true))
            #expect(streamed.status == 200, "\(streamed)")
            let events = streamed.events
            #expect(events.last?.data == "[DONE]", "\(streamed.text)")
            let chunks = events.dropLast().map(\.json)
            #expect(chunks.allSatisfy { $0["object"]?.string == "chat.completion.chunk" && $0["model"]?.string == "stub-chat" })
            #expect(chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.string }.joined() == "Hello there")
            #expect(chunks.contains { $0["choices"]?[0]?["finish_reason"]?.string == "stop" })
            #expect(chunks.last?["usage"]?["completion_tokens"]?.int != nil)

            let sent = stub.received
            #expect(sent.count == 2)
            for request in sent {
                #expect(request["model"]?.string == "stub-model", "the client model name is mapped")
                let messages = request["messages"]?.array ?? []
                #expect(messages.first == ["role": "system", "content": "Be brief."])
                let last = try #require(messages.last)
                #expect(last["role"]?.string == "user")
                #expect(last["content"]?.string?.contains(summary) == true, "the summary is in the last user message")
                #expect(last["content"]?.string?.hasSuffix("Write about rain.") == true)
                let user = try #require(request["user"]?.string)
                #expect(user.hasPrefix("popi-") && user != rawUser && !user.contains(rawUser) && !user.contains("raw-user"))
                #expect(!request.text.contains(rawUser), "the raw id never goes upstream")
                #expect(request["max_tokens"]?.int == 8)
            }
            #expect(sent[1]["stream"]?.bool == true && sent[1]["stream_options"]?["include_usage"]?.bool == true)
            #expect(sent[0]["user"] == sent[1]["user"], "the hash is stable")

            // The same user id in another tenant is another person: another hash, no summary.
            let other = try await service.tenant("other")
            #expect(try await other.client.post("/v1/chat/completions", Self.chat(user: rawUser)).status == 200)
            let foreign = try #require(stub.received.last)
            #expect(foreign["user"] != sent[0]["user"] && foreign["user"]?.string?.hasPrefix("popi-") == true)
            #expect(foreign["messages"]?.array?.last == ["role": "user", "content": "Write about rain."], "unpersonalized")
            // No user: no `user` field at all.
            #expect(try await tenant.client.post("/v1/chat/completions", Self.chat(user: nil)).status == 200)
            #expect(stub.received.last?["user"] ?? .null == .null)
        }
        await stub.stop()
    }

    @Test func generateWithAnUpstreamGenerator() async throws {
        let stub = try Self.echoingStub()
        try await withService(upstreams: [try stub.configuration()]) { service in
            let tenant = try await service.tenant()
            let summary = try await Self.userWithSummary(tenant.client, "sam")

            let whole = try await tenant.client.post("/v1/users/sam/generate", ["prompt": "Write about rain.", "max_tokens": 8, "generator": "stub"])
            #expect(whole.status == 200, "\(whole)")
            #expect(whole.json["generator"]?.string == "stub" && whole.json["text"]?.string == "Hello there")
            #expect(whole.json["personalized"]?.bool == true && whole.json["summary_version"]?.int == 1)
            #expect(whole.json["usage"]?["prompt_tokens"]?.int == 11 && whole.json["usage"]?["completion_tokens"]?.int == 3)
            #expect(whole.json["usage"]?["summary_tokens"]?.int == service.model.tokenCount(summary))

            let streamed = try await tenant.client.post("/v1/users/sam/generate",
                                                        ["prompt": "Write about rain.", "max_tokens": 8, "generator": "stub", "stream": true])
            let events = streamed.events
            #expect(events.dropLast().allSatisfy { $0.event == "delta" } && events.last?.event == "done", "\(streamed.text)")
            #expect(events.dropLast().compactMap { $0.json["text"]?.string }.joined() == "Hello there")
            #expect(events.last?.json["generator"]?.string == "stub" && events.last?.json["usage"]?["completion_tokens"] != nil)

            for request in stub.received {
                let content = request["messages"]?.array?.last?["content"]?.string ?? ""
                #expect(content.contains(summary) && content.hasSuffix("Write about rain."), "\(content)")
                #expect(request["user"]?.string?.hasPrefix("popi-") == true && !request.text.contains("\"sam\""))
            }
            // Usage is recorded for the user whichever generator answered.
            #expect(try await tenant.client.get("/v1/users/sam/export").json["usage"]?["generations"]?.int == 2)
        }
        await stub.stop()
    }

    @Test func upstreamErrorStatusesBecome502WithAShortSanitizedMessage() async throws {
        let chatter = "\n\u{1B}[31m" + String(repeating: "internal detail ", count: 60)
        let stub = try StubUpstream { attempt, _, _ in
            attempt == 1 ? StubUpstream.error(400, "max_tokens is too large for stub-model" + chatter)
                : StubUpstream.error(500, "stub exploded at db-7.internal:5432")
        }
        try await withService(upstreams: [try stub.configuration()]) { service in
            let client = try await service.tenant().client
            let client4xx = try await client.post("/v1/chat/completions", Self.chat(user: "u"))
            #expect(client4xx.status == 502 && client4xx.errorCode == "upstream_error", "\(client4xx)")
            // A 4xx is the request's fault: its sender sees the upstream's words, one line, cut short.
            let message4xx = client4xx.errorMessage ?? ""
            #expect(message4xx.contains("400") && message4xx.contains("max_tokens is too large"), "\(message4xx)")
            #expect(message4xx.count < 220 && !message4xx.contains("\n") && !message4xx.contains("\u{1B}"), "\(message4xx)")
            // A 5xx's text is the upstream's own business (hosts, internals): only the status is passed on.
            let server5xx = try await client.post("/v1/users/u/generate", ["prompt": "x", "max_tokens": 4, "generator": "stub"])
            #expect(server5xx.status == 502 && server5xx.errorMessage == "upstream stub answered 500", "\(server5xx)")
            // Streamed: the stream has started, so the failure is its last event.
            let streamed = try await client.post("/v1/users/u/generate", ["prompt": "x", "max_tokens": 4, "generator": "stub", "stream": true])
            #expect(streamed.status == 200 && streamed.events.map(\.event) == ["error"], "\(streamed.text)")
            #expect(streamed.events.last?.json["error"]?["code"]?.string == "upstream_error")
            #expect(service.metrics.registry.value("popi_upstream_requests_total", ["stub", "status_5xx"]) == 2)
        }
        await stub.stop()
    }

    @Test func aSlowFirstByteIs504() async throws {
        let stub = try StubUpstream { _, _, _ in try await StubUpstream.stallForever() }
        try await withService(upstreams: [try stub.configuration(firstByte: .milliseconds(300))]) { service in
            let client = try await service.tenant().client
            let slow = try await client.post("/v1/chat/completions", Self.chat(user: "u"))
            #expect(slow.status == 504 && slow.errorCode == "upstream_timeout", "\(slow)")
            #expect(slow.errorMessage?.contains("first byte") == true)
        }
        await stub.stop()
    }

    @Test func anOpenCircuitIs503WithRetryAfterAndSparesTheUpstream() async throws {
        let stub = try StubUpstream { _, _, _ in StubUpstream.error(503, "overloaded") }
        try await withService(upstreams: [try stub.configuration(breakerFailures: 1, breakerOpen: .seconds(60))]) { service in
            let client = try await service.tenant().client
            let first = try await client.post("/v1/chat/completions", Self.chat(user: "u"))
            #expect(first.status == 502, "\(first)")
            let open = try await client.post("/v1/chat/completions", Self.chat(user: "u"))
            #expect(open.status == 503 && open.errorCode == "upstream_unavailable", "\(open)")
            let retryAfter = try #require(open.header("Retry-After").flatMap { Int($0) })
            #expect((1...60).contains(retryAfter))
            let generate = try await client.post("/v1/users/u/generate", ["prompt": "x", "max_tokens": 4, "generator": "stub"])
            #expect(generate.status == 503 && generate.header("Retry-After") != nil, "\(generate)")
            #expect(stub.received.count == 1, "calls are refused without reaching the upstream")
        }
        await stub.stop()
    }

    @Test func anUpstreamDyingMidStreamEndsOurStreamWithAnErrorEvent() async throws {
        let stub = try StubUpstream { _, _, _ in StubUpstream.brokenStream(["Hel", "lo"]) }
        try await withService(upstreams: [try stub.configuration()]) { service in
            let client = try await service.tenant().client
            let generate = try await client.post("/v1/users/u/generate", ["prompt": "x", "max_tokens": 8, "generator": "stub", "stream": true])
            #expect(generate.status == 200 && generate.chunked, "\(generate)")
            let events = generate.events
            #expect(events.map(\.event) == ["delta", "delta", "error"], "\(generate.text)")
            #expect(events.prefix(2).compactMap { $0.json["text"]?.string } == ["Hel", "lo"])
            let error = try #require(events.last?.json["error"])
            #expect(error["code"]?.string?.hasPrefix("upstream_") == true && error["message"]?.string?.contains("stub") == true, "\(error)")

            let chat = try await client.post("/v1/chat/completions", Self.chat(user: "u", stream: true))
            #expect(chat.status == 200, "\(chat)")
            let data = chat.events.map(\.json)
            #expect(chat.events.last?.data != "[DONE]", "no [DONE] after a failure")
            #expect(data.last?["error"]?["code"]?.string?.hasPrefix("upstream_") == true, "\(chat.text)")
            #expect(data.dropLast().compactMap { $0["choices"]?[0]?["delta"]?["content"]?.string }.joined() == "Hello")
        }
        await stub.stop()
    }
}

extension GenerationRunnerTests {
    @Test func ourClientLeavingCancelsTheUpstreamCall() async throws {
        let stub = try StubUpstream { _, _, stub in stub.heldStream(["Hel"]) }
        try await withService(upstreams: [try stub.configuration()]) { service in
            let client = try await service.tenant().client
            let stream = try await client.open("POST", "/v1/users/u/generate",
                                               json: ["prompt": "x", "max_tokens": 8, "generator": "stub", "stream": true])
            let head = try await stream.readHead()
            #expect(head.status == 200, "\(head)")
            let first = try await stream.readChunk()
            #expect(SSEEvent.parse(String(decoding: first ?? [], as: UTF8.self)).first?.event == "delta")
            await stream.close()
            #expect(await stub.waitForDisconnect(), "popi kept the upstream call open after its client left")
        }
        await stub.stop()
    }
}

extension GenerationRunnerTests {
    /// Opens once: a reader that has stopped reading until the test lets it go on.
    final class StuckReader: Sendable {
        private let opened = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        func wait() async {
            await withCheckedContinuation { continuation in
                let open = opened.withLock { state -> Bool in
                    if !state.open { state.waiters.append(continuation) }
                    return state.open
                }
                if open { continuation.resume() }
            }
        }

        func open() {
            let waiters = opened.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.open = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    @Test func aSlowReaderDoesNotKeepTheSlotOnceTheModelHasFinished() async throws {
        try await withService(configure: { $0.maxConcurrentGenerations = 1 }) { service in
            let tenant = try await service.tenant()
            let api = service.api
            let runner = GenerationRunner(models: api.models, slots: api.generations, upstreamSlots: api.upstreamCalls,
                                          maxPromptTokens: 4096, metrics: service.metrics, logger: api.logger)
            let prompt = try runner.checkPrompt([ChatMessage(role: .user, content: "Count from one to ten.")], maxTokens: 8)
            let reader = StuckReader()
            let generation = Task {
                try await runner.generate(prompt, settings: SamplingParameters(maxTokens: 8, temperature: 0), on: .local,
                                          for: tenant.id, upstreamUser: nil, prefixCache: nil) { _ in await reader.wait() }
            }
            // The reader is stuck on the first piece while the model writes the rest (a debug
            // build on a loaded machine can take minutes for it: the wait ends as soon as it is free).
            var freed = false
            for _ in 0..<12_000 where !freed {
                try await Task.sleep(for: .milliseconds(25))
                freed = api.generations.inFlight == 0
            }
            #expect(freed, "the slot is free once the model is done, though the reader has read nothing")
            reader.open()
            let output = try await generation.value
            #expect(output.completionTokens > 0 && !output.text.isEmpty)
        }
    }
}

extension GenerationRunnerTests {
    @Test func upstreamCallsBeyondTheLimitAndItsQueueAre503WithoutReachingTheUpstream() async throws {
        let stub = try Self.echoingStub()
        try await withService(configure: { $0.maxUpstreamCalls = 1; $0.tenantShare = 1 }, upstreams: [try stub.configuration()]) { service in
            let client = try await service.tenant().client
            let others = try await service.tenant("others").id
            // Another tenant's call runs and one more waits: the one slot and the one waiting place.
            try await service.api.upstreamCalls.acquire(others)
            let waiting = Task { try await service.api.upstreamCalls.acquire(others) }
            for _ in 0..<400 where service.api.upstreamCalls.queued == 0 { try await Task.sleep(for: .milliseconds(5)) }
            let busy = try await client.post("/v1/chat/completions", Self.chat(user: "u"))
            #expect(busy.status == 503 && busy.errorCode == "busy" && busy.header("Retry-After") == "1", "\(busy)")
            #expect(service.metrics.registry.value("popi_upstream_calls_rejected_total", ["queue_full"]) == 1)
            #expect(stub.received.isEmpty, "refused before the upstream is called")
            service.api.upstreamCalls.release(others)
            try await waiting.value
            service.api.upstreamCalls.release(others)
            #expect(try await client.post("/v1/chat/completions", Self.chat(user: "u")).status == 200)
        }
        await stub.stop()
    }
}
