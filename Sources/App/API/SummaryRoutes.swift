import Foundation
import HTTPServer
import Personalization
import Store

extension PopiAPI {
    func addSummaryRoutes(to router: inout Router) {
        router.get("/v1/users/{user_id}/summary", authorized(.read) { [self] request, caller in
            try await getSummary(request, caller)
        })
        router.post("/v1/users/{user_id}/summary/refresh", authorized(.write) { [self] request, caller in
            try await refreshSummary(request, caller)
        })
        router.put("/v1/users/{user_id}/summary", authorized(.write) { [self] request, caller in
            try await putSummary(request, caller)
        })
        router.delete("/v1/users/{user_id}/summary/pin", authorized(.write) { [self] request, caller in
            try await unpinSummary(request, caller)
        })
        router.get("/v1/users/{user_id}/summary/versions", authorized(.read) { [self] request, caller in
            try await listVersions(request, caller)
        })
        router.get("/v1/users/{user_id}/summary/versions/{version}", authorized(.read) { [self] request, caller in
            let (user, version) = try await versionParameters(request, caller)
            guard let found = try await run({ try await self.store.summaries.get(user: user.id, version: version) }) else {
                throw Self.versionNotFound()
            }
            return Representation.version(found).response()
        })
        router.post("/v1/users/{user_id}/summary/versions/{version}/restore", authorized(.write) { [self] request, caller in
            let (user, version) = try await versionParameters(request, caller)
            guard try await run({ try await self.store.summaries.restore(user: user.id, version: version, pinned: true) }) != nil else {
                throw Self.versionNotFound()
            }
            return try await summaryResponse(caller, user.externalID)
        })
    }

    static func versionNotFound() -> HTTPError {
        HTTPError(.notFound, code: "version_not_found", message: "no such summary version")
    }

    /// Runs a store call, mapping its failures to HTTP errors.
    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw storeError(error)
        }
    }

    func state(_ caller: Caller, _ user: String) async throws -> SummaryState {
        guard let state = try await run({ try await store.summaries.state(tenant: caller.tenantID, externalUserID: user) }) else {
            throw Self.userNotFound()
        }
        return state
    }

    func summaryResponse(_ caller: Caller, _ user: String, status: HTTPStatus = .ok) async throws -> Response {
        let body = Representation.summary(try await state(caller, user))
        return body.response(status: status, headers: ["ETag": Representation.etag(body), "Cache-Control": "no-cache"])
    }

    func getSummary(_ request: Request, _ caller: Caller) async throws -> Response {
        let response = try await summaryResponse(caller, try userID(request))
        if let tag = response.headers["ETag"], let match = request.headers["If-None-Match"],
           match == "*" || match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == tag }) {
            return Response(status: .notModified, headers: ["ETag": tag, "Cache-Control": "no-cache"])
        }
        return response
    }

    /// Queues a refresh now (no debounce); with `?wait=SECONDS` answers once it finished or the
    /// time is up (202 with the job then).
    func refreshSummary(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try userID(request)
        let wait = try request.queryValue("wait").map { text -> Double in
            guard let seconds = Double(text), seconds >= 0, seconds <= configuration.maxRefreshWaitSeconds else {
                throw HTTPError.badRequest("wait must be a number of seconds between 0 and \(Int(configuration.maxRefreshWaitSeconds))", code: "invalid_request")
            }
            return seconds
        } ?? 0
        let current = try await state(caller, user)
        if current.current?.pinned == true {
            throw HTTPError(.conflict, code: "summary_pinned", message: "the summary is pinned; unpin it (DELETE …/summary/pin) to refresh")
        }
        let job = try await run({ try await store.jobs.enqueue(NewJob.summaryRefresh(for: current.user.id, delay: 0)).job })
        let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
        var latest = job
        while ContinuousClock.now < deadline, latest.state == .pending || latest.state == .running {
            try await Task.sleep(for: .milliseconds(200))
            guard let fresh = try await run({ try await store.jobs.get(job.id) }) else { break }
            latest = fresh
        }
        if latest.state == .done || latest.state == .superseded {
            return try await summaryResponse(caller, user)
        }
        return JSONValue.object(["user_id": .string(user), "refresh_job": Representation.job(latest)])
            .response(status: .accepted)
    }

    /// An edited summary: stored as a new version, pinned unless `"pinned": false`, and scored
    /// on the user's newest pairs with POPI's reward like any other version.
    func putSummary(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try userID(request)
        let fields = try FieldReader(try await jsonBody(request))
        let text = try fields.requiredString("text", maxLength: 8 << 10).trimmingCharacters(in: .whitespacesAndNewlines)
        let pinned = try fields.bool("pinned") ?? true
        let found = try await state(caller, user).user
        let snapshot = try await run({ try await store.feedback.snapshot(user: found.id) })
        let pairs = (snapshot?.events ?? []).compactMap { event -> PreferencePair? in
            guard case let .pair(prompt, chosen, rejected) = event.content, chosen != rejected else { return nil }
            return PreferencePair(prompt: prompt, chosen: chosen, rejected: rejected)
        }.suffix(configuration.editedSummaryScoringPairs)
        var scores = SummaryScores(summaryTokens: model.tokenCount(text))
        if !pairs.isEmpty {
            let optimizer = SummaryOptimizer(model: model, options: configuration.summary)
            let evaluation = try await withGenerationSlot { try await optimizer.evaluate(summary: text, on: Array(pairs)) }
            scores.reward = evaluation.reward
            scores.accuracy = evaluation.accuracy
            scores.heldOutCount = pairs.count
        }
        let version = NewSummaryVersion(text: text, sourceEventIDs: [], feedbackRevision: snapshot?.user.feedbackRevision,
                                        modelID: model.modelID, promptVersion: PromptBuilder.version, scores: scores,
                                        origin: .edited, pinned: pinned)
        _ = try await run({ try await store.summaries.add(user: found.id, version) })
        return try await summaryResponse(caller, user)
    }

    func unpinSummary(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try userID(request)
        let found = try await state(caller, user)
        _ = try await run({ try await store.summaries.unpin(user: found.user.id) })
        // Feedback may have moved on while the summary was pinned: catch up.
        if let current = found.current, current.feedbackRevision < found.user.feedbackRevision {
            _ = try await run({ try await store.jobs.enqueue(refreshJob(found.user.id)) })
        }
        return try await summaryResponse(caller, user)
    }

    func listVersions(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try userID(request)
        let limit = try queryInteger(request, "limit", in: 1...100) ?? 20
        let before = try queryInteger(request, "before", in: 1...Int(Int32.max))
        let found = try await state(caller, user).user
        let versions = try await run({ try await store.summaries.list(user: found.id, before: before, limit: limit) })
        let next: JSONValue = versions.count == limit ? versions.last.map { .string(String($0.version)) } ?? .null : .null
        return JSONValue.object([
            "user_id": .string(user),
            "versions": .array(versions.map(Representation.version)),
            "next_before": next,
        ]).response()
    }

    func versionParameters(_ request: Request, _ caller: Caller) async throws -> (User, Int) {
        let user = try userID(request)
        guard let raw = request.parameter("version"), let version = Int(raw), version >= 1, version <= Int(Int32.max) else {
            throw HTTPError.badRequest("version must be a positive integer", code: "invalid_request")
        }
        return (try await state(caller, user).user, version)
    }
}
