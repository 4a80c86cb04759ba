/// What can go wrong talking to an upstream. Descriptions are safe to show: the API key is
/// redacted from anything the upstream sent back, and bodies are truncated.
public enum LLMClientError: Error, Equatable, CustomStringConvertible {
    public enum TimeoutKind: String, Sendable {
        case connect, firstByte = "first byte", idle, total
    }

    /// The upstream answered with a non-2xx status.
    case upstreamStatus(upstream: String, status: Int, message: String, retryAfter: Double?)
    case timeout(upstream: String, TimeoutKind)
    /// Too many recent failures: calls are refused until `retryAfter` seconds have passed.
    case circuitOpen(upstream: String, retryAfter: Double)
    /// No connection (refused, DNS, TLS) or the connection broke (reset, closed mid-body).
    case connection(upstream: String, reason: String)
    /// The upstream's body is not what the OpenAI API defines.
    case invalidResponse(upstream: String, reason: String)
    /// The event stream ended without `data: [DONE]`.
    case streamEndedEarly(upstream: String)
    /// The stream's reader fell behind by more than popi holds for it (`OpenAIClient.backlogLimit`).
    case readerTooSlow(upstream: String)
    case cancelled

    public var description: String {
        switch self {
        case let .upstreamStatus(upstream, status, message, _):
            return "upstream \(upstream) answered \(status): \(message)"
        case let .timeout(upstream, kind):
            return "upstream \(upstream) timed out (\(kind.rawValue))"
        case let .circuitOpen(upstream, retryAfter):
            return "upstream \(upstream) is failing; calls paused for \(Int(retryAfter.rounded(.up))) s"
        case let .connection(upstream, reason):
            return "connection to upstream \(upstream) failed: \(reason)"
        case let .invalidResponse(upstream, reason):
            return "upstream \(upstream) sent an invalid response: \(reason)"
        case let .streamEndedEarly(upstream):
            return "upstream \(upstream) ended its stream before [DONE]"
        case let .readerTooSlow(upstream):
            return "the stream of upstream \(upstream) was read too slowly"
        case .cancelled:
            return "the upstream call was cancelled"
        }
    }

    /// Whether a non-streamed call may be retried after this error.
    var isRetryable: Bool {
        switch self {
        case let .upstreamStatus(_, status, _, _): return status == 429 || status >= 500
        case .connection, .timeout(_, .connect): return true
        default: return false
        }
    }

    /// Whether this error counts against the upstream's health in the circuit breaker.
    var countsAsFailure: Bool {
        switch self {
        case let .upstreamStatus(_, status, _, _): return status == 429 || status >= 500
        case .connection, .timeout, .invalidResponse, .streamEndedEarly: return true
        case .circuitOpen, .cancelled, .readerTooSlow: return false
        }
    }
}
