import Dispatch
import Foundation
import Synchronization
import FoundationNetworking

/// A client for one OpenAI-compatible upstream: chat completions, whole or streamed.
///
/// Non-streamed calls are retried with jittered exponential backoff on 429, 5xx and connection
/// failures (honouring `Retry-After`); streamed calls are not retried, since part of the answer
/// may already have reached the caller. Every call passes the upstream's circuit breaker.
public final class OpenAIClient: Sendable {
    public let configuration: UpstreamConfiguration
    public let breaker: CircuitBreaker
    private let session: UpstreamSession
    private let userAgent: String
    /// Largest streamed body read in one call (`streamLimit`; smaller in tests).
    private let maxStreamBytes: Int
    /// Most chunk text a streamed call holds for a reader that has not taken it (`backlogLimit`).
    private let maxBacklogBytes: Int

    public convenience init(configuration: UpstreamConfiguration, userAgent: String = "popi") {
        self.init(configuration: configuration, userAgent: userAgent, maxStreamBytes: Self.streamLimit)
    }

    init(configuration: UpstreamConfiguration, userAgent: String, maxStreamBytes: Int, maxBacklogBytes: Int = backlogLimit) {
        self.configuration = configuration
        self.userAgent = userAgent
        self.maxStreamBytes = maxStreamBytes
        self.maxBacklogBytes = maxBacklogBytes
        breaker = CircuitBreaker(failureThreshold: configuration.breaker.failureThreshold,
                                 openDuration: configuration.breaker.openDuration)
        session = UpstreamSession(idleTimeout: configuration.timeouts.idle, totalTimeout: configuration.timeouts.total)
    }

    private var name: String { configuration.name }

    /// Largest successful body kept (a chat completion is far smaller).
    static let bodyLimit = 16 << 20
    /// Largest event stream read: its chunks repeat a JSON envelope of a few hundred bytes for
    /// every token or so, so 8 MiB is some 30,000 tokens, far beyond any `max_tokens` popi allows.
    static let streamLimit = 8 << 20
    /// Chunk text waiting for a slow reader: a whole long answer's worth.
    static let backlogLimit = 1 << 20
    /// Bytes of an error body read for its message.
    static let errorBodyLimit = 64 << 10

    deinit {
        session.invalidate()
    }

    // MARK: non-streamed

    public func complete(_ request: ChatCompletionRequest) async throws -> ChatCompletion {
        var request = request
        request.model = configuration.upstreamModel(for: request.model)
        request.stream = nil
        request.streamOptions = nil
        let body = try encode(request)
        let deadline = DispatchTime.now() + configuration.timeouts.total.dispatchInterval
        var attempt = 0
        while true {
            attempt += 1
            do {
                let data = try await exchange(body: body, deadline: deadline)
                do {
                    return try JSONDecoder().decode(ChatCompletion.self, from: data)
                } catch {
                    throw LLMClientError.invalidResponse(upstream: name, reason: "not a chat completion object")
                }
            } catch let error as LLMClientError {
                guard error.isRetryable, attempt < configuration.retry.maxAttempts else { throw error }
                let delay = backoff(attempt: attempt, error: error)
                guard DispatchTime.now() + delay.dispatchInterval < deadline else { throw error }
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw LLMClientError.cancelled
                }
            }
        }
    }

    /// The delay before attempt `attempt + 1`: `Retry-After` when the upstream gave one (capped at
    /// `maxDelay`), otherwise "full jitter" exponential backoff.
    func backoff(attempt: Int, error: LLMClientError) -> Duration {
        let retry = configuration.retry
        let cap = retry.maxDelay.seconds
        if case let .upstreamStatus(_, _, _, retryAfter?) = error {
            return .milliseconds(Int(min(retryAfter, cap) * 1000))
        }
        let exponential = min(cap, retry.baseDelay.seconds * pow(2, Double(attempt - 1)))
        return .milliseconds(Int(Double.random(in: 0.5...1.0) * exponential * 1000))
    }

    private func exchange(body: Data, deadline: DispatchTime) async throws -> Data {
        if let wait = breaker.acquire() {
            throw LLMClientError.circuitOpen(upstream: name, retryAfter: wait)
        }
        let box = CallBox()
        do {
            let data: Data = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data, Error>) in
                    var status = 0
                    var headers: [String: String] = [:]
                    var collected = Data()
                    let call = UpstreamCall(upstream: name, timeouts: configuration.timeouts, deadline: deadline, handlers: .init(
                        response: { status = $0; headers = $1 },
                        data: { [name, key = configuration.apiKey] chunk throws(LLMClientError) in
                            guard (200..<300).contains(status) else {
                                collected.append(chunk)
                                // Enough of an error body for its message: stop reading there.
                                if collected.count >= Self.errorBodyLimit {
                                    throw Self.statusError(name, status, headers, collected, key)
                                }
                                return .more
                            }
                            guard collected.count + chunk.count <= Self.bodyLimit else {
                                throw .invalidResponse(upstream: name, reason: "body larger than \(Self.bodyLimit >> 20) MiB")
                            }
                            collected.append(chunk)
                            return .more
                        },
                        complete: { [name, key = configuration.apiKey] error in
                            if let error { return continuation.resume(throwing: error) }
                            guard (200..<300).contains(status) else {
                                return continuation.resume(throwing: Self.statusError(name, status, headers, collected, key))
                            }
                            continuation.resume(returning: collected)
                        }))
                    call.start(makeURLRequest(body: body), session: session)
                    box.attach(call)
                }
            } onCancel: {
                box.cancel()
            }
            breaker.recordSuccess()
            return data
        } catch let error as LLMClientError {
            error.countsAsFailure ? breaker.recordFailure() : breaker.recordNeutral()
            throw error
        }
    }

    // MARK: streamed

    /// Streams the completion's chunks. The stream finishes after `data: [DONE]` and throws an
    /// `LLMClientError` otherwise; cancelling the consuming task cancels the upstream request.
    public func stream(_ request: ChatCompletionRequest) -> ChatCompletionChunks {
        let backlog = ChatCompletionChunks.Backlog()
        let base = AsyncThrowingStream<(chunk: ChatCompletionChunk, bytes: Int), Error> { continuation in
            var request = request
            request.model = configuration.upstreamModel(for: request.model)
            request.stream = true
            let body: Data
            do {
                body = try encode(request)
            } catch {
                continuation.finish(throwing: error)
                return
            }
            if let wait = breaker.acquire() {
                continuation.finish(throwing: LLMClientError.circuitOpen(upstream: name, retryAfter: wait))
                return
            }
            let name = self.name
            let key = configuration.apiKey
            let breaker = self.breaker
            let maxStreamBytes = self.maxStreamBytes, maxBacklogBytes = self.maxBacklogBytes
            var streamed = 0
            var status = 0
            var headers: [String: String] = [:]
            var errorBody = Data()
            var parser = SSEParser()
            var done = false
            let deadline = DispatchTime.now() + configuration.timeouts.total.dispatchInterval
            let call = UpstreamCall(upstream: name, timeouts: configuration.timeouts, deadline: deadline, handlers: .init(
                response: { status = $0; headers = $1 },
                data: { chunk throws(LLMClientError) in
                    guard (200..<300).contains(status) else {
                        errorBody.append(chunk)
                        if errorBody.count >= Self.errorBodyLimit {
                            throw Self.statusError(name, status, headers, errorBody, key)
                        }
                        return .more
                    }
                    streamed += chunk.count
                    guard streamed <= maxStreamBytes else {
                        throw .invalidResponse(upstream: name, reason: "event stream longer than \(maxStreamBytes) bytes")
                    }
                    let events: [SSEParser.Event]
                    do {
                        events = try parser.feed(chunk)
                    } catch {
                        throw .invalidResponse(upstream: name, reason: "\(error)")
                    }
                    for event in events {
                        if event.data == "[DONE]" {
                            done = true
                            return .finished
                        }
                        let bytes = event.data.utf8.count
                        guard backlog.add(bytes, limit: maxBacklogBytes) else { throw .readerTooSlow(upstream: name) }
                        continuation.yield((try Self.decodeChunk(event.data, upstream: name, key: key), bytes))
                    }
                    return .more
                },
                complete: { error in
                    var outcome = error
                    if outcome == nil && !(200..<300).contains(status) {
                        outcome = Self.statusError(name, status, headers, errorBody, key)
                    } else if outcome == nil && !done {
                        outcome = .streamEndedEarly(upstream: name)
                    }
                    guard let outcome else {
                        breaker.recordSuccess()
                        return continuation.finish()
                    }
                    outcome.countsAsFailure ? breaker.recordFailure() : breaker.recordNeutral()
                    continuation.finish(throwing: outcome)
                }))
            // Only a consumer that stops listening cancels the request; a stream that finished
            // after [DONE] leaves the connection to end on its own (and be reused).
            continuation.onTermination = { termination in
                if case .cancelled = termination { call.cancel() }
            }
            call.start(makeURLRequest(body: body), session: session)
        }
        return ChatCompletionChunks(base: base, backlog: backlog)
    }

    // MARK: helpers

    private func encode(_ request: ChatCompletionRequest) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(request)
    }

    private func makeURLRequest(body: Data) -> URLRequest {
        var request = URLRequest(url: configuration.chatCompletionsURL)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json, text/event-stream", forHTTPHeaderField: "Accept")
        request.setValue(userAgent, forHTTPHeaderField: "User-Agent")
        if let key = configuration.apiKey {
            request.setValue("Bearer \(key.value)", forHTTPHeaderField: "Authorization")
        }
        return request
    }

    static func decodeChunk(_ data: String, upstream: String, key: APIKey?) throws(LLMClientError) -> ChatCompletionChunk {
        let bytes = Data(data.utf8)
        if let chunk = try? JSONDecoder().decode(ChatCompletionChunk.self, from: bytes) {
            return chunk
        }
        if let message = errorMessage(bytes, key: key) {
            throw LLMClientError.invalidResponse(upstream: upstream, reason: "error event: \(message)")
        }
        throw LLMClientError.invalidResponse(upstream: upstream, reason: "an event is not a chat completion chunk")
    }

    static func statusError(_ upstream: String, _ status: Int, _ headers: [String: String], _ body: Data,
                            _ key: APIKey?) -> LLMClientError {
        let message = errorMessage(body, key: key) ?? "no error message"
        return .upstreamStatus(upstream: upstream, status: status, message: message,
                               retryAfter: headers["retry-after"].flatMap(parseRetryAfter))
    }

    /// The `error.message` of an OpenAI-style error body (or the body's text), key redacted,
    /// at most 500 characters.
    static func errorMessage(_ body: Data, key: APIKey?) -> String? {
        var text: String?
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
            if let error = object["error"] as? [String: Any], let message = error["message"] as? String {
                text = message
            } else if let message = object["error"] as? String ?? object["message"] as? String ?? object["detail"] as? String {
                text = message
            }
        } else if !body.isEmpty {
            text = String(decoding: body, as: UTF8.self)
        }
        guard var message = text?.trimmingCharacters(in: .whitespacesAndNewlines), !message.isEmpty else { return nil }
        // Redact the whole text before truncating, so no cut can leave part of a key behind.
        if let key { message = key.redact(message) }
        return message.count > 500 ? String(message.prefix(500)) + "…" : message
    }

    /// `Retry-After` as seconds: either a number of seconds or an HTTP date.
    static func parseRetryAfter(_ value: String) -> Double? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(trimmed), seconds >= 0, seconds.isFinite { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: trimmed) else { return nil }
        return max(0, date.timeIntervalSinceNow)
    }
}

/// Holds the in-flight call so the cancellation handler can reach it, whichever comes first.
private final class CallBox: Sendable {
    private let state = Mutex<(call: UpstreamCall?, cancelled: Bool)>((nil, false))

    func attach(_ call: UpstreamCall) {
        let cancelNow = state.withLock { state -> Bool in
            state.call = call
            return state.cancelled
        }
        if cancelNow { call.cancel() }
    }

    func cancel() {
        state.withLock { state -> UpstreamCall? in
            state.cancelled = true
            return state.call
        }?.cancel()
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    var dispatchInterval: DispatchTimeInterval {
        .nanoseconds(Int(min(seconds, 1e9) * 1e9))
    }
}
