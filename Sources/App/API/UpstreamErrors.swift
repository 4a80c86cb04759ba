import HTTPServer
import LLMClient

extension LLMClientError {
    /// The HTTP answer popi gives its own client when an upstream fails: 502 for upstream errors
    /// (their status and message included), 504 for timeouts, 503 with `Retry-After` for an open
    /// circuit.
    var httpError: HTTPError {
        switch self {
        case let .upstreamStatus(upstream, status, message, _):
            return HTTPError(.badGateway, code: "upstream_error", message: "upstream \(upstream) answered \(status): \(message)")
        case .timeout:
            return HTTPError(.gatewayTimeout, code: "upstream_timeout", message: description)
        case let .circuitOpen(_, retryAfter):
            return HTTPError(.serviceUnavailable, code: "upstream_unavailable", message: description,
                             headers: ["Retry-After": String(Int(retryAfter.rounded(.up)))])
        case .connection:
            return HTTPError(.badGateway, code: "upstream_unreachable", message: description)
        case .invalidResponse, .streamEndedEarly:
            return HTTPError(.badGateway, code: "upstream_invalid_response", message: description)
        case .cancelled:
            return HTTPError(.serviceUnavailable, code: "cancelled", message: "request cancelled")
        }
    }

    /// A bounded label for metrics.
    var outcome: String {
        switch self {
        case .upstreamStatus(_, let status, _, _): return "status_\(status / 100)xx"
        case .timeout: return "timeout"
        case .circuitOpen: return "circuit_open"
        case .connection: return "connection"
        case .invalidResponse, .streamEndedEarly: return "invalid_response"
        case .cancelled: return "cancelled"
        }
    }
}
