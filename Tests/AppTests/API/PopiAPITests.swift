import Foundation
import Testing
@testable import App

/// What `PopiAPI` does around every route, on a real socket: tenant isolation, body limits and
/// content types, the per-key rate limit, the generation queue.
@Suite struct PopiAPITests {
    @Test func noUserRouteReachesAnotherTenantsUser() async throws {
        try await withService { service in
            let owner = try await service.tenant("owner")
            let intruder = try await service.tenant("intruder", scopes: [.read, .write, .generate])
            let secretFeedback = "owner-secret-\(UUID().uuidString)"
            let secretSummary = "summary-secret-\(UUID().uuidString)"
            let posted = try await owner.client.post("/v1/users/zoe/feedback", Fixtures.batch([
                Fixtures.pair(1, id: "zoe-1"), ["kind": "statement", "text": .string(secretFeedback)],
            ]))
            let eventID = try #require(posted.json["items"]?[0]?["event_id"]?.int)
            #expect(try await owner.client.put("/v1/users/zoe/summary", ["text": .string(secretSummary)]).status == 200)
            let exportBefore = try await owner.client.get("/v1/users/zoe/export").json

            let attempts: [(String, String, JSONValue?)] = [
                ("GET", "/v1/users/zoe/feedback", nil),
                ("GET", "/v1/users/zoe/summary", nil),
                ("POST", "/v1/users/zoe/summary/refresh?wait=0", nil),
                ("PUT", "/v1/users/zoe/summary", ["text": "overwritten"]),
                ("DELETE", "/v1/users/zoe/summary/pin", nil),
                ("GET", "/v1/users/zoe/summary/versions", nil),
                ("GET", "/v1/users/zoe/summary/versions/1", nil),
                ("POST", "/v1/users/zoe/summary/versions/1/restore", nil),
                ("GET", "/v1/users/zoe/export", nil),
                ("DELETE", "/v1/users/zoe", nil),
            ]
            for (method, path, body) in attempts {
                let response = try await intruder.client.send(method, path, json: body)
                #expect(response.status == 404, "\(method) \(path): \(response)")
                #expect(response.errorCode == "user_not_found", "\(method) \(path): \(response)")
                #expect(!response.text.contains(secretFeedback) && !response.text.contains(secretSummary))
            }
            let deleteEvent = try await intruder.client.delete("/v1/users/zoe/feedback/\(eventID)")
            #expect(deleteEvent.status == 404 && deleteEvent.errorCode == "event_not_found", "\(deleteEvent)")
            // Generation and ranking for a user the caller's tenant does not have: unpersonalized.
            let generated = try await intruder.client.post("/v1/users/zoe/generate", ["prompt": "Hi", "max_tokens": 2, "temperature": 0])
            #expect(generated.status == 200 && generated.json["personalized"]?.bool == false, "\(generated)")
            #expect(generated.json["summary_version"]?.isNull == true && !generated.text.contains(secretSummary))
            let streamed = try await intruder.client.post("/v1/users/zoe/generate", ["prompt": "Hi", "max_tokens": 2, "stream": true])
            #expect(streamed.events.last?.json["personalized"]?.bool == false, "\(streamed)")
            let ranked = try await intruder.client.post("/v1/users/zoe/rank", ["prompt": "Hi", "responses": ["a", "b"]])
            #expect(ranked.status == 200 && ranked.json["personalized"]?.bool == false, "\(ranked)")
            let chat = try await intruder.client.post("/v1/chat/completions", [
                "model": "popi-local", "user": "zoe", "max_tokens": 2, "messages": [["role": "user", "content": "Hi"]],
            ])
            #expect(chat.status == 200 && chat.json["popi"]?["personalized"]?.bool == false, "\(chat)")
            // Feedback from the other tenant goes to a user of its own, not into the owner's.
            let foreign = try await intruder.client.post("/v1/users/zoe/feedback", Fixtures.pair(1, id: "zoe-1"))
            #expect(foreign.json["items"]?[0]?["status"]?.string == "inserted", "\(foreign)")
            #expect(foreign.json["items"]?[0]?["event_id"]?.int != eventID)
            let theirs = try await intruder.client.get("/v1/users/zoe/feedback").json["events"]?.array ?? []
            #expect(theirs.count == 1 && !theirs.contains { $0["event_id"]?.int == eventID })

            // The owner's data is untouched (usage aside: the intruder's generations were not theirs).
            let exportAfter = try await owner.client.get("/v1/users/zoe/export").json
            #expect(exportAfter["feedback"] == exportBefore["feedback"] && exportAfter["summaries"] == exportBefore["summaries"])
            #expect(exportAfter["usage"]?.isNull == true && exportAfter["jobs"] == exportBefore["jobs"])
        }
    }

    @Test func oversizedBodiesAre413AndOtherContentTypes415() async throws {
        try await withService(configure: { $0.maxBodyBytes = 4096 }) { service in
            let tenant = try await service.tenant()
            let client = tenant.client
            let big: JSONValue = ["kind": "statement", "text": .string(String(repeating: "a", count: 5000))]
            let tooLarge = try await client.post("/v1/users/amy/feedback", big)
            #expect(tooLarge.status == 413 && tooLarge.errorCode == "payload_too_large", "\(tooLarge)")
            #expect(tooLarge.errorMessage?.contains("4096") == true)
            #expect(try await service.userID(tenant, "amy") == nil)

            let text = try await client.send("POST", "/v1/users/amy/feedback", body: Array(#"{"kind":"statement","text":"x"}"#.utf8),
                                            headers: [("Content-Type", "text/plain")])
            #expect(text.status == 415 && text.errorCode == "unsupported_media_type", "\(text)")
            let form = try await client.send("PUT", "/v1/users/amy/summary", body: Array("text=x".utf8),
                                            headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(form.status == 415, "\(form)")
            // A JSON type with parameters or a +json suffix is fine; so is no type at all.
            for type in ["application/json; charset=utf-8", "application/merge-patch+json", nil] {
                let accepted = try await client.send("POST", "/v1/users/amy/feedback", body: Array(#"{"kind":"statement","text":"x"}"#.utf8),
                                                    headers: type.map { [("Content-Type", $0)] } ?? [])
                #expect(accepted.status == 200, "\(type ?? "no type"): \(accepted)")
            }
            let broken = try await client.send("POST", "/v1/users/amy/feedback", body: Array("{not json".utf8),
                                              headers: [("Content-Type", "application/json")])
            #expect(broken.status == 400 && broken.errorCode == "invalid_json", "\(broken)")
        }
    }

    @Test func aKeyOverItsRateLimitGets429WithRetryAfter() async throws {
        try await withService(configure: { $0.rateLimitPerSecond = 0.01; $0.rateLimitBurst = 3 }) { service in
            let tenant = try await service.tenant()
            let other = service.client(try await service.key(for: tenant.id, scopes: [.read]))
            var statuses: [Int] = []
            var limited: TestResponse?
            for _ in 0..<5 {
                let response = try await tenant.client.get("/v1/users/nobody/summary")
                statuses.append(response.status)
                if response.status == 429 { limited = response }
            }
            // The burst passes (404: no such user), then the bucket is empty (one token takes 100 s).
            #expect(statuses.prefix(3) == [404, 404, 404] && statuses.last == 429, "\(statuses)")
            let refused = try #require(limited)
            #expect(refused.errorCode == "rate_limited")
            let retryAfter = try #require(refused.header("Retry-After").flatMap { Int($0) })
            #expect((1...100).contains(retryAfter))
            // Buckets are per key; unauthenticated requests never take tokens.
            #expect(try await other.get("/v1/users/nobody/summary").status == 404)
            #expect(try await service.client(nil).get("/v1/users/nobody/summary").status == 401)
        }
    }

    @Test func aFullGenerationQueueAnswers503WithRetryAfter() async throws {
        try await withService(configure: { $0.maxConcurrentGenerations = 1; $0.generationQueue = 0 }) { service in
            let client = try await service.tenant().client
            // Another tenant holds the one slot, as a long generation would.
            let other = try await service.tenant("other").id
            try await service.api.generations.acquire(other)
            let body: JSONValue = ["prompt": "Hi", "max_tokens": 2]
            for (path, request) in [("/v1/users/bo/generate", body), ("/v1/users/bo/rank", ["prompt": "Hi", "responses": ["a"]]),
                                    ("/v1/chat/completions", ["model": "popi-local", "messages": [["role": "user", "content": "Hi"]], "max_tokens": 2])]
                as [(String, JSONValue)] {
                let busy = try await client.post(path, request)
                #expect(busy.status == 503 && busy.errorCode == "busy", "\(path): \(busy)")
                #expect(busy.header("Retry-After") == "1")
            }
            var streamed = body.object ?? [:]
            streamed["stream"] = true
            let busyStream = try await client.post("/v1/users/bo/generate", .object(streamed))
            #expect(busyStream.status == 503, "refused before the stream starts: \(busyStream)")
            #expect(service.metrics.registry.value("popi_generations_rejected_total", ["queue_full"]) == 4)

            service.api.generations.release(other)
            #expect(try await client.post("/v1/users/bo/generate", body).status == 200)
        }
    }

    @Test func aTenantAtItsShareOfGenerationsGets429WhileAnotherTenantIsServed() async throws {
        try await withService(configure: { $0.maxConcurrentGenerations = 2; $0.generationQueue = 0; $0.tenantShare = 0.5 }) { service in
            let busy = try await service.tenant("busy")
            let quiet = try await service.tenant("quiet")
            // The busy tenant already runs its share (one of two slots), as a long generation would.
            try await service.api.generations.acquire(busy.id)
            let body: JSONValue = ["prompt": "Hi", "max_tokens": 2]
            let refused = try await busy.client.post("/v1/users/bo/generate", body)
            #expect(refused.status == 429 && refused.errorCode == "tenant_busy", "\(refused)")
            #expect(refused.header("Retry-After") == "1")
            #expect(service.metrics.registry.value("popi_generations_rejected_total", ["tenant_share"]) == 1)
            // The other slot is the quiet tenant's to use.
            #expect(try await quiet.client.post("/v1/users/bo/generate", body).status == 200)
            service.api.generations.release(busy.id)
            #expect(try await busy.client.post("/v1/users/bo/generate", body).status == 200)
        }
    }
}
