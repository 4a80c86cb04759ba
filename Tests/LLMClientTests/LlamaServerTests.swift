import Foundation
import FoundationNetworking
import Glibc
import Testing
@testable import LLMClient

/// `OpenAIClient` against a real OpenAI-compatible server no one on the team wrote:
/// llama-cpp-python's, started by `scripts/with-llama-server.sh` (which `make test` runs) on the
/// default model. Generations are short (greedy, a few tokens). Facts about that server the cases
/// rely on: it echoes the requested model name, answers a wrong or missing key with
/// 401 `{"detail":"Invalid API key"}`, and a new request interrupts a running one (so the cases
/// run one at a time).
@Suite(.serialized, .timeLimit(.minutes(5)),
       .disabled(if: LlamaServer.skipReason != nil, Comment(rawValue: LlamaServer.skipReason ?? "")))
struct LlamaServerTests {
    static let question = [ChatCompletionMessage(role: "user", content: "Say hello to Ada in one short sentence.")]

    /// A client of the shared server, with its key unless `key` says otherwise (`.some(nil)`: none).
    private func client(key: String?? = .none, models: [String: String] = [:]) throws -> OpenAIClient {
        let server = try LlamaServer.shared()
        let key: String? = switch key {
        case .none: server.key
        case .some(let given): given
        }
        return OpenAIClient(configuration: try UpstreamConfiguration(
            name: "llama", baseURL: server.url, apiKey: key.map { try APIKey($0) }, models: models,
            retry: .init(maxAttempts: 1)))
    }

    private func request(maxTokens: Int = 8) -> ChatCompletionRequest {
        ChatCompletionRequest(model: "popi-generator", messages: Self.question, maxTokens: maxTokens,
                              temperature: 0, seed: 7, user: "u-7c1e0f")
    }

    @Test func wholeCompletion() async throws {
        let client = try client(models: ["popi-generator": "smollm2-upstream"])
        let completion = try await client.complete(request())
        #expect(completion.model == "smollm2-upstream", "the server echoes the mapped model name")
        let choice = try #require(completion.choices.first)
        #expect(choice.message.role == "assistant")
        #expect(!choice.message.content.isEmpty)
        #expect(["length", "stop"].contains(choice.finishReason ?? ""))
        let usage = try #require(completion.usage)
        #expect((1...8).contains(usage.completionTokens))
        #expect(usage.promptTokens > 0 && usage.totalTokens == usage.promptTokens + usage.completionTokens)
        #expect(client.breaker.state == .closed)
    }

    @Test func streamedCompletionSaysWhatTheWholeOneSays() async throws {
        let client = try client()
        let whole = try await client.complete(request())
        var streamed = request()
        // The server ignores include_usage: the stream must end cleanly without a usage chunk.
        streamed.streamOptions = .init(includeUsage: true)
        var text = ""
        var roles: [String] = []
        var finishReasons: [String] = []
        for try await chunk in client.stream(streamed) {
            for choice in chunk.choices {
                text += choice.delta.content ?? ""
                if let role = choice.delta.role { roles.append(role) }
                if let reason = choice.finishReason { finishReasons.append(reason) }
            }
        }
        #expect(roles == ["assistant"])
        #expect(finishReasons.count == 1)
        #expect(!text.isEmpty)
        #expect(text == whole.choices.first?.message.content, "greedy decoding gives the same text either way")
    }

    @Test func wrongOrMissingKeyIs401() async throws {
        for key in ["popi-wrong-key-5e3a", nil] as [String?] {
            let client = try client(key: .some(key))
            do {
                _ = try await client.complete(request())
                Issue.record("the server accepted key \(key ?? "none")")
            } catch let error as LLMClientError {
                #expect(error == .upstreamStatus(upstream: "llama", status: 401, message: "Invalid API key", retryAfter: nil))
                if let key { #expect(!error.description.contains(key)) }
            }
            let streamed = await drain(client.stream(request()))
            #expect(streamed.error as? LLMClientError
                    == .upstreamStatus(upstream: "llama", status: 401, message: "Invalid API key", retryAfter: nil))
            #expect(client.breaker.state == .closed, "a rejected key says nothing about the upstream's health")
        }
    }

    /// Starts a server of its own, kills it (SIGKILL) once the answer is streaming, then calls it
    /// again where nothing listens any more.
    @Test func upstreamKilledMidStreamThenMissing() async throws {
        let own = try await LlamaServer.launch()
        defer { own.kill() }
        let client = OpenAIClient(configuration: try UpstreamConfiguration(
            name: "doomed", baseURL: own.url, apiKey: nil, retry: .init(maxAttempts: 2, baseDelay: .milliseconds(10)),
            breaker: .init(failureThreshold: 3, openDuration: .seconds(60))))
        // Long enough to still be generating when the kill lands right after the first chunk.
        let long = ChatCompletionRequest(model: "any", messages: [ChatCompletionMessage(role: "user", content: "Count from 1 to 100, separated by commas.")],
                                         maxTokens: 64, temperature: 0)
        var chunks = 0
        var failure: Error?
        do {
            for try await _ in client.stream(long) {
                chunks += 1
                if chunks == 1 { own.kill() }
            }
        } catch {
            failure = error
        }
        #expect(chunks >= 1)
        switch failure as? LLMClientError {
        case .connection(upstream: "doomed", _)?, .streamEndedEarly(upstream: "doomed")?:
            break
        default:
            Issue.record("a killed upstream ends the stream with a connection error, got \(String(describing: failure))")
        }

        await #expect {
            _ = try await client.complete(long)
        } throws: { error in
            guard case .connection(upstream: "doomed", _)? = error as? LLMClientError else { return false }
            return true
        }
        // One failure mid-stream and two refused attempts: the circuit is open now.
        #expect(client.breaker.state == .open)
    }
}

/// The llama-cpp-python server the test script started, or a reason why there is none.
enum LlamaServer {
    struct Shared {
        var url: String
        var key: String
    }

    struct NotConfigured: Error, CustomStringConvertible {
        var description: String {
            "POPI_TEST_LLAMA_URL is not set: run the tests with `make test` (or scripts/with-llama-server.sh swift test), which starts llama-cpp-python's server"
        }
    }

    struct LaunchFailed: Error, CustomStringConvertible {
        var description: String
    }

    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// Set by the script when the server could not be installed or started.
    static var skipReason: String? {
        environment["POPI_TEST_LLAMA_SKIP"].map { "llama-cpp-python server unavailable: \($0)" }
    }

    static func shared() throws -> Shared {
        guard let url = environment["POPI_TEST_LLAMA_URL"], let key = environment["POPI_TEST_LLAMA_KEY"] else {
            throw NotConfigured()
        }
        return Shared(url: url, key: key)
    }

    /// A server process of the test's own (no key), on a free port.
    final class Own: Sendable {
        let url: String
        private let process: Process

        init(url: String, process: Process) {
            self.url = url
            self.process = process
        }

        /// SIGKILL, as a crash would; idempotent.
        func kill() {
            guard process.isRunning else { return }
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static func launch() async throws -> Own {
        guard let python = environment["POPI_TEST_LLAMA_PYTHON"], let launcher = environment["POPI_TEST_LLAMA_LAUNCHER"],
              let model = environment["POPI_TEST_LLAMA_MODEL"] else {
            throw NotConfigured()
        }
        let port = try freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [launcher, "--model", model, "--host", "127.0.0.1", "--port", String(port), "--n_ctx", "512"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let own = Own(url: "http://127.0.0.1:\(port)/v1", process: process)
        let models = URL(string: "\(own.url)/models")!
        let end = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < end {
            guard process.isRunning else { throw LaunchFailed(description: "llama-cpp-python server exited with \(process.terminationStatus)") }
            if let (_, response) = try? await URLSession.shared.data(from: models),
               (response as? HTTPURLResponse)?.statusCode == 200 {
                return own
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        own.kill()
        throw LaunchFailed(description: "llama-cpp-python server did not answer within 120 s")
    }

    /// A port nothing listens on right now (the kernel picks it).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LaunchFailed(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw LaunchFailed(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
