import Foundation
import Testing
@testable import App

/// Edge cases schemathesis found against `openapi.yaml`, kept as regression tests on a real socket.
@Suite struct ContractEdgeTests {
    @Test func aKeyCannotRevokeItself() async throws {
        try await withService { service in
            let admin = try await service.tenant(scopes: [.admin])
            let keys = try await admin.client.get("/v1/admin/tenants/\(admin.id)/keys").json["keys"]?.array ?? []
            let own = try #require(keys.first { admin.key.contains($0["prefix"]?.string ?? "?") }?["key_id"]?.string)
            let refused = try await admin.client.delete("/v1/admin/tenants/\(admin.id)/keys/\(own)")
            #expect(refused.status == 409 && refused.errorCode == "cannot_revoke_own_key", "\(refused)")
            #expect(try await admin.client.get("/v1/admin/tenants").status == 200, "the key still works")
            // Another admin key of the same tenant may revoke it.
            let other = service.client(try await service.key(for: admin.id, scopes: [.admin]))
            #expect(try await other.delete("/v1/admin/tenants/\(admin.id)/keys/\(own)").status == 200)
            #expect(try await admin.client.get("/v1/admin/tenants").status == 401)
        }
    }

    @Test func metadataWithNULIsAnInvalidItemNotAServerError() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            var nul = Fixtures.pair(1)
            if case .object(var fields) = nul {
                fields["metadata"] = ["note": .string("a\u{0}b")]
                nul = .object(fields)
            }
            var nulKey = Fixtures.pair(2)
            if case .object(var fields) = nulKey {
                fields["metadata"] = .object(["k\u{0}": 1])
                nulKey = .object(fields)
            }
            let answer = try await client.post("/v1/users/meta/feedback", Fixtures.batch([nul, nulKey, Fixtures.pair(3)]))
            #expect(answer.status == 200, "\(answer)")
            let statuses = (answer.json["items"]?.array ?? []).map { $0["status"]?.string }
            #expect(statuses == ["invalid", "invalid", "inserted"])
            #expect(answer.json["items"]?[0]?["reason"]?.string?.contains("events[0].metadata") == true)
        }
    }

    @Test func tenantNamesWithControlCharactersAnywhereAreRefused() async throws {
        try await withService { service in
            let admin = try await service.tenant(scopes: [.admin]).client
            for name in ["acme\n", "\tacme", "ac\u{7}me"] {
                let answer = try await admin.post("/v1/admin/tenants", ["name": .string("\(name) \(UUID().uuidString)")])
                #expect(answer.status == 400, "\(name.debugDescription): \(answer)")
            }
            let padded = try await admin.post("/v1/admin/tenants", ["name": .string("  acme \(UUID().uuidString)  ")])
            #expect(padded.status == 201 && padded.json["name"]?.string?.hasPrefix("acme ") == true, "\(padded)")
        }
    }

    @Test func chatNeedsAMessageWithTextAndAValidUserHeader() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let empty: JSONValue = ["model": "popi-local", "max_tokens": 2,
                                    "messages": [["role": "user", "content": ""], ["role": "user", "content": []]]]
            let refused = try await client.post("/v1/chat/completions", empty)
            #expect(refused.status == 400 && refused.errorMessage?.contains("message with text") == true, "\(refused)")
            // The header is validated even when the body names the user.
            let body: JSONValue = ["model": "popi-local", "max_tokens": 2, "user": "lea",
                                   "messages": [["role": "user", "content": "Hi."]]]
            let header = try await client.post("/v1/chat/completions", body, headers: [("X-Popi-User", "")])
            #expect(header.status == 400 && header.errorMessage?.contains("X-Popi-User") == true, "\(header)")
            let long = try await client.post("/v1/chat/completions", body, headers: [("X-Popi-User", String(repeating: "u", count: 257))])
            #expect(long.status == 400 && long.errorMessage?.contains("1-256 bytes") == true, "\(long)")
        }
    }

    @Test func editedSummariesAreAtMostTwoKiB() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            #expect(try await client.post("/v1/users/ed/feedback", Fixtures.pair(1)).status == 200)
            let long = try await client.put("/v1/users/ed/summary", ["text": .string(String(repeating: "short ", count: 342))])
            #expect(long.status == 400 && long.errorMessage?.contains("2048 bytes") == true, "\(long)")
            let edge = try await client.put("/v1/users/ed/summary", ["text": .string(String(repeating: "short ", count: 341) + "ok")])
            #expect(edge.status == 200 && edge.json["held_out_count"]?.int == 1, "\(edge)")
        }
    }
}
