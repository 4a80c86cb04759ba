import HTTPServer
import LLMClient

extension LLMClientError {
    /// The HTTP answer popi gives its own client when an upstream fails: 502 for upstream errors,
    /// 504 for timeouts, 503 with `Retry-After` for an open circuit. The client gets a short
    /// message: an upstream's own words only for a 4xx (the request's fault, so useful to its
    /// sender), cut short and without control characters; hosts, connection errors and 5xx
    /// bodies stay in the log.
    var httpError: HTTPError {
        switch self {
        case let .upstreamStatus(upstream, status, message, _):
            let said = (400..<500).contains(status) ? ": " + Self.sanitized(message) : ""
            return HTTPError(.badGateway, code: "upstream_error", message: "upstream \(upstream) answered \(status)\(said)")
        case .timeout:
            return HTTPError(.gatewayTimeout, code: "upstream_timeout", message: description)
        case let .circuitOpen(_, retryAfter):
            return HTTPError(.serviceUnavailable, code: "upstream_unavailable", message: description,
                             headers: ["Retry-After": String(Int(retryAfter.rounded(.up)))])
        case let .connection(upstream, _):
            return HTTPError(.badGateway, code: "upstream_unreachable", message: "could not reach upstream \(upstream)")
        case let .invalidResponse(upstream, _):
            return HTTPError(.badGateway, code: "upstream_invalid_response", message: "upstream \(upstream) sent an invalid response")
        case .streamEndedEarly:
            return HTTPError(.badGateway, code: "upstream_invalid_response", message: description)
        case .readerTooSlow:
            return HTTPError(.serviceUnavailable, code: "client_too_slow", message: "the response was read too slowly")
        case .cancelled:
            return HTTPError(.serviceUnavailable, code: "cancelled", message: "request cancelled")
        }
    }

    /// Longest part of an upstream's own error message passed to popi's client.
    static let clientMessageLimit = 160

    /// One line of printable text, at most `clientMessageLimit` characters.
    static func sanitized(_ message: String) -> String {
        let line = String(String.UnicodeScalarView(message.unicodeScalars.map {
            $0.properties.generalCategory == .control || $0.properties.generalCategory == .format ? " " : $0
        }))
        return line.count > clientMessageLimit ? String(line.prefix(clientMessageLimit)) + "…" : line
    }

    /// A bounded label for metrics.
    var outcome: String {
        switch self {
        case .upstreamStatus(_, let status, _, _): return "status_\(status / 100)xx"
        case .timeout: return "timeout"
        case .circuitOpen: return "circuit_open"
        case .connection: return "connection"
        case .invalidResponse, .streamEndedEarly: return "invalid_response"
        case .readerTooSlow: return "reader_too_slow"
        case .cancelled: return "cancelled"
        }
    }
}
