import HTTPServer
import LLMClient
import Store

/// Every error the API answers with, by its stable code: the body is `{"error":{"code","message"}}`
/// (`HTTPError.response`), so clients branch on the code and show the message.
extension HTTPError {
    // MARK: the request

    /// A field or parameter out of bounds; the message names it.
    static func invalidRequest(_ message: String) -> HTTPError {
        HTTPError(.badRequest, code: "invalid_request", message: message)
    }

    static let invalidJSON = HTTPError.badRequest("the body is not valid JSON (UTF-8)", code: "invalid_json")

    static func jsonTooDeep(limit: Int) -> HTTPError {
        .badRequest("the body nests arrays and objects more than \(limit) deep", code: "json_too_deep")
    }
    static let invalidUserID = HTTPError.badRequest("user_id must be 1-256 bytes without control characters", code: "invalid_user_id")
    static let unsupportedMediaType = HTTPError(.unsupportedMediaType, code: "unsupported_media_type", message: "send application/json")

    /// A prompt (or an edited summary, `what`) the model's chat template cannot format.
    static func invalidPrompt(_ what: String, _ error: any Error) -> HTTPError {
        .badRequest("the \(what) cannot be formatted for this model: \(error)", code: "invalid_prompt")
    }

    static func promptTooLong(_ message: String) -> HTTPError {
        .badRequest(message, code: "prompt_too_long")
    }

    static func summaryTooLong(tokens: Int, limit: Int) -> HTTPError {
        .badRequest("the summary takes \(tokens) tokens of the prompt; the prompt limit is \(limit)", code: "summary_too_long")
    }

    static func unknownGenerator(_ message: String) -> HTTPError {
        .badRequest(message, code: "unknown_generator")
    }

    // MARK: the key

    private static let authenticationChallenge: HTTPHeaders = ["WWW-Authenticate": #"Bearer realm="popi""#]

    static func unauthorized(_ message: String) -> HTTPError {
        HTTPError(.unauthorized, code: "unauthorized", message: message, headers: authenticationChallenge)
    }

    static func forbidden(missing scope: Scope) -> HTTPError {
        HTTPError(.forbidden, code: "forbidden", message: "this key lacks the \(scope.rawValue) scope")
    }

    /// The tenant's refresh queue is full (`--refresh-queue-per-tenant`); it drains as workers run.
    static func refreshQueueFull(limit: Int) -> HTTPError {
        HTTPError(.tooManyRequests, code: "refresh_queue_full",
                  message: "this tenant already has \(limit) summary refreshes queued; retry once some have run",
                  headers: ["Retry-After": "60"])
    }

    static func rateLimited(retryAfter seconds: Double) -> HTTPError {
        HTTPError(.tooManyRequests, code: "rate_limited", message: "too many requests for this key",
                  headers: ["Retry-After": retryAfter(seconds)])
    }

    /// The client address failed authentication too often; refused before any key lookup.
    static func tooManyFailedAuthentications(retryAfter seconds: Double) -> HTTPError {
        HTTPError(.tooManyRequests, code: "too_many_failed_auth",
                  message: "too many failed authentications from this address; retry later",
                  headers: ["Retry-After": retryAfter(seconds)])
    }

    /// Whole seconds, at least 1; a wait too long for an integer (no valid setting makes one) reads a day.
    private static func retryAfter(_ seconds: Double) -> String {
        String(Int(seconds.isFinite ? min(max(seconds.rounded(.up), 1), 86400) : 86400))
    }

    // MARK: what the request names

    static let userNotFound = HTTPError(.notFound, code: "user_not_found", message: "no such user")
    static let versionNotFound = HTTPError(.notFound, code: "version_not_found", message: "no such summary version")
    static let eventNotFound = HTTPError(.notFound, code: "event_not_found", message: "no such feedback event")
    static let tenantNotFound = HTTPError(.notFound, code: "tenant_not_found", message: "no such tenant")
    static let keyNotFound = HTTPError(.notFound, code: "key_not_found", message: "no such key")

    static func modelNotFound(_ name: String) -> HTTPError {
        HTTPError(.notFound, code: "model_not_found", message: "unknown model \(name); GET /v1/models lists them")
    }

    // MARK: conflicts

    static let tenantExists = HTTPError(.conflict, code: "tenant_exists", message: "a tenant with this name exists")
    static let summaryPinned = HTTPError(.conflict, code: "summary_pinned",
                                         message: "the summary is pinned; unpin it (DELETE …/summary/pin) to refresh")
    /// A key revoking itself would lock its holder out mid-request; rotation creates the new key first.
    static let cannotRevokeOwnKey = HTTPError(.conflict, code: "cannot_revoke_own_key",
                                              message: "a key cannot revoke itself; use another admin key or popi keys revoke")

    /// A write that would pass a storage quota (`--max-user-events` and the like); nothing was stored.
    static func quotaExceeded(_ exceeded: StorageQuota.Exceeded) -> HTTPError {
        HTTPError(.payloadTooLarge, code: "quota_exceeded", message: exceeded.description)
    }

    // MARK: the service

    static let busy = HTTPError(.serviceUnavailable, code: "busy", message: "too many generations in progress; retry shortly",
                                headers: ["Retry-After": "1"])
    static let upstreamBusy = HTTPError(.serviceUnavailable, code: "busy", message: "too many upstream calls in progress; retry shortly",
                                        headers: ["Retry-After": "1"])
    /// One tenant holds its share of the generation slots and of the queue (`--tenant-share`).
    static let tenantBusy = HTTPError(.tooManyRequests, code: "tenant_busy",
                                      message: "this tenant has its share of generations running and waiting; retry shortly",
                                      headers: ["Retry-After": "1"])
    static let databaseUnavailable = HTTPError(.serviceUnavailable, code: "database_unavailable",
                                               message: "the database is unavailable; try again", headers: ["Retry-After": "1"])
    /// PostgreSQL's disk is full: writes are refused until an operator frees space; reads work.
    static let databaseFull = HTTPError(.serviceUnavailable, code: "database_full",
                                        message: "the database has no space left for writes; reads still work; try again later",
                                        headers: ["Retry-After": "30"])
    /// A streamed generation that failed after the response began (the cause is logged, not shown).
    static let generationFailed = HTTPError(.internalServerError, code: "internal", message: "generation failed")

    /// What a failure answers: an unreachable database 503 (clients retry), a full one 503
    /// `database_full`, an upstream's failure
    /// its 502 / 503 / 504; HTTP errors and everything else pass unchanged (the router answers
    /// other errors 500 `internal` and logs them).
    static func from(_ error: any Error) -> any Error {
        switch error {
        case StoreError.server(let server) where server.isOutOfSpace: return databaseFull
        case let error as StoreError where error.isTransient: return databaseUnavailable
        case let error as LLMClientError: return error.httpError
        default: return error
        }
    }
}
