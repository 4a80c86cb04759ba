import Foundation
import Testing
@testable import LLMClient

@Suite struct OpenAIClientTests {
    @Test func errorMessageIsExtractedRedactedAndTruncated() throws {
        let key = try APIKey("sk-secret-123")
        let body = Data(#"{"error":{"message":"Incorrect API key provided: sk-secret-123","type":"invalid_request_error"}}"#.utf8)
        #expect(OpenAIClient.errorMessage(body, key: key) == "Incorrect API key provided: [redacted]")
        let long = Data(String(repeating: "x", count: 900).utf8)
        #expect(OpenAIClient.errorMessage(long, key: nil)?.count == 501)
        #expect(OpenAIClient.errorMessage(Data(), key: nil) == nil)
    }

    @Test func keyIsRedactedWhereverItSitsAndHoweverItIsEscaped() throws {
        let key = try APIKey("sk-secret/0123456789")
        // Far into a text body: redacted before anything is cut, so no half of it survives.
        let padded = Data((String(repeating: " ", count: 1990) + "sk-secret/0123456789 was refused").utf8)
        #expect(OpenAIClient.errorMessage(padded, key: key) == "[redacted] was refused")
        // A truncated JSON body is shown as text, with the key still JSON-escaped.
        let truncatedJSON = Data(#"{"error":{"message":"key sk-secret\/0123456789 unkno"#.utf8)
        let message = try #require(OpenAIClient.errorMessage(truncatedJSON, key: key))
        #expect(!message.contains("0123456789"))
    }

    @Test func retryAfterAcceptsSecondsAndHTTPDates() {
        #expect(OpenAIClient.parseRetryAfter("7") == 7)
        #expect(OpenAIClient.parseRetryAfter("-1") == nil)
        #expect(OpenAIClient.parseRetryAfter("soon") == nil)
        let inTenSeconds = Date().addingTimeInterval(10)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let parsed = OpenAIClient.parseRetryAfter(formatter.string(from: inTenSeconds))
        #expect(parsed != nil && parsed! > 8 && parsed! <= 10)
    }

    @Test func backoffHonoursRetryAfterUpToTheCap() throws {
        let config = try UpstreamConfiguration(name: "up", baseURL: "http://127.0.0.1:1/v1", apiKey: nil,
                                               retry: .init(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(2)))
        let client = OpenAIClient(configuration: config)
        let limited = LLMClientError.upstreamStatus(upstream: "up", status: 429, message: "", retryAfter: 1.5)
        #expect(client.backoff(attempt: 1, error: limited) == .milliseconds(1500))
        let capped = LLMClientError.upstreamStatus(upstream: "up", status: 429, message: "", retryAfter: 60)
        #expect(client.backoff(attempt: 1, error: capped) == .seconds(2))
        let plain = LLMClientError.connection(upstream: "up", reason: "refused")
        for attempt in 1...4 {
            let delay = client.backoff(attempt: attempt, error: plain)
            let ceiling = min(2.0, 0.1 * pow(2, Double(attempt - 1)))
            #expect(delay.seconds >= ceiling * 0.5 - 0.001 && delay.seconds <= ceiling + 0.001)
        }
    }

    @Test func keyNeverAppearsInDescriptions() throws {
        let key = try APIKey("sk-live-abcdef")
        #expect("\(key)" == "[redacted]")
        #expect(String(reflecting: key) == "[redacted]")
        let config = try UpstreamConfiguration(name: "up", baseURL: "https://example.com/v1", apiKey: key)
        #expect(!"\(config)".contains("sk-live-abcdef"))
    }

    @Test func configurationRejectsBadInput() {
        #expect(throws: UpstreamConfigurationError.invalidBaseURL(name: "up")) {
            try UpstreamConfiguration(name: "up", baseURL: "ftp://example.com", apiKey: nil)
        }
        #expect(throws: UpstreamConfigurationError.invalidName("bad name")) {
            try UpstreamConfiguration(name: "bad name", baseURL: "https://example.com/v1", apiKey: nil)
        }
        #expect(throws: UpstreamConfigurationError.emptyKey) { try APIKey("  \n") }
        #expect(throws: UpstreamConfigurationError.invalidKeyCharacters) { try APIKey("a\u{7}b") }
        #expect(throws: UpstreamConfigurationError.missingKeyVariable("NOPE")) {
            try APIKey.fromEnvironment("NOPE", environment: [:])
        }
    }

    @Test func connectionRefusedIsAConnectionErrorAndRetried() async throws {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let config = try UpstreamConfiguration(name: "down", baseURL: "http://127.0.0.1:1/v1", apiKey: nil,
                                               retry: .init(maxAttempts: 2, baseDelay: .milliseconds(10), maxDelay: .milliseconds(20)))
        let client = OpenAIClient(configuration: config)
        let request = ChatCompletionRequest(model: "m", messages: [ChatCompletionMessage(role: "user", content: "hi")])
        await #expect {
            _ = try await client.complete(request)
        } throws: { error in
            guard case .connection(upstream: "down", _)? = error as? LLMClientError else { return false }
            return true
        }
        var streamError: Error?
        do {
            for try await _ in client.stream(request) {}
        } catch {
            streamError = error
        }
        guard case .connection? = streamError as? LLMClientError else {
            Issue.record("expected a connection error, got \(String(describing: streamError))")
            return
        }
    }
}
