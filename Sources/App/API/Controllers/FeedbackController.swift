import HTTPServer
import Store

/// A user's feedback events: posted one at a time or in batches, listed, deleted.
struct FeedbackController: Sendable {
    let requests: RequestGuard
    let users: UserRepository
    let feedback: FeedbackRepository
    let configuration: APIConfiguration
    let metrics: ServiceMetrics

    func register(in router: inout Router) {
        router.post("/v1/users/{user_id}/feedback", requests.authorized(.write, postFeedback))
        router.get("/v1/users/{user_id}/feedback", requests.authorized(.read, listFeedback))
        router.delete("/v1/users/{user_id}/feedback/{event_id}", requests.authorized(.write, deleteFeedback))
    }

    /// Stores the valid items of the post in one transaction and reports on every item.
    private func postFeedback(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        let posted = try API.FeedbackRequest(try await requests.jsonBody(request), limits: configuration)
        var statuses = [API.FeedbackItemStatus?](repeating: nil, count: posted.events.count)
        var valid: [(index: Int, event: NewFeedbackEvent)] = []
        for (index, item) in posted.events.enumerated() {
            switch item {
            case .success(let event): valid.append((index, event))
            case .failure(let error): statuses[index] = .invalid(index: index, reason: error.message)
            }
        }
        var refreshJobID: Int64?
        if !valid.isEmpty {
            let result: IngestResult
            do {
                result = try await feedback.ingest(tenant: caller.tenantID, externalUserID: user, events: valid.map(\.event),
                                                   refresh: configuration.refreshJob, quota: configuration.storageQuota)
            } catch StoreError.quotaExceeded(let exceeded) {
                metrics.registry.increment("popi_quota_rejections_total", [exceeded.scope.rawValue, exceeded.measure.rawValue])
                throw HTTPError.quotaExceeded(exceeded)
            }
            for ((index, event), status) in zip(valid, result.items) {
                statuses[index] = .stored(index: index, status, idempotencyKey: event.idempotencyKey)
            }
            refreshJobID = result.refreshJob?.id.rawValue
        }
        // Every item is either invalid or stored: none is left nil.
        return try Response.json(API.FeedbackResult(userID: user, items: statuses.compactMap { $0 }, refreshJobID: refreshJobID))
    }

    /// Keyset pagination: `?limit=1..200&cursor=<next_cursor>`, oldest first.
    private func listFeedback(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        let limit = try RequestGuard.queryInteger(request, "limit", in: 1...200) ?? 50
        let cursor = try RequestGuard.queryInteger(request, "cursor", in: 0...Int(Int64.max)).map { EventID(rawValue: Int64($0)) }
        guard let found = try await users.find(tenant: caller.tenantID, externalID: user) else {
            throw HTTPError.userNotFound
        }
        let page = try await feedback.list(user: found.id, after: cursor, limit: limit)
        return try Response.json(API.FeedbackPage(userID: user, events: page.events.map(API.FeedbackEvent.init),
                                                  nextCursor: page.nextCursor.map { String($0.rawValue) }))
    }

    private func deleteFeedback(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        guard let raw = request.parameter("event_id"), let id = Int64(raw), id > 0 else {
            throw HTTPError.invalidRequest("event_id must be a positive integer")
        }
        guard let found = try await users.find(tenant: caller.tenantID, externalID: user),
              try await feedback.delete(user: found.id, id: EventID(rawValue: id), refresh: configuration.refreshJob) else {
            throw HTTPError.eventNotFound
        }
        return Response(status: .noContent)
    }
}
