import Foundation
import Testing
@testable import App

/// What every route shares, on a real socket: here, the nesting limit of JSON bodies.
@Suite struct RequestGuardTests {
    /// Nesting deeper than the limit (64 by default) is a 400 of its own, counted, whatever the
    /// depth: decoding is never reached, so 100,000 levels cannot exhaust the stack.
    @Test func jsonNestedDeeperThanTheLimitIs400() async throws {
        try await withService { service in
            let client = try await service.tenant().client
            let arrays = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
            let objects = Array((String(repeating: #"{"a":"#, count: 100_000) + "1" + String(repeating: "}", count: 100_000)).utf8)
            func nested(_ depth: Int, inner: JSONValue = 1) -> JSONValue {
                (0..<depth).reduce(inner) { value, _ in .object(["m": value]) }
            }
            // The body is one level, so metadata may nest 63 more.
            let deepest: JSONValue = ["kind": "statement", "text": "x", "metadata": nested(63)]
            let tooDeep: JSONValue = ["kind": "statement", "text": "x", "metadata": nested(64)]
            for (what, body) in [("100,000 [", arrays), ("100,000 objects", objects), ("65 levels", tooDeep.bytes)] {
                let refused = try await client.send("POST", "/v1/users/deep/feedback", body: body,
                                                    headers: [("Content-Type", "application/json")])
                #expect(refused.status == 400 && refused.errorCode == "json_too_deep", "\(what): \(refused)")
                #expect(refused.errorMessage?.contains("more than 64 deep") == true, "\(what): \(refused)")
            }
            #expect(service.metrics.registry.value("popi_http_json_too_deep_total") == 3)

            let accepted = try await client.post("/v1/users/deep/feedback", deepest)
            #expect(accepted.status == 200 && accepted.json["inserted"]?.int == 1, "64 levels: \(accepted)")
            // Brackets inside strings are text, not nesting.
            let text: JSONValue = ["kind": "statement", "text": .string(String(repeating: "[{", count: 100)),
                                   "metadata": ["note": .string(String(repeating: "\\\"[", count: 100))]]
            let brackets = try await client.post("/v1/users/deep/feedback", text)
            #expect(brackets.status == 200 && brackets.json["inserted"]?.int == 1, "\(brackets)")
        }
    }
}
