import Crypto
import Foundation
import HTTPServer
import Personalization
import Store

/// A user's summary: read (with ETags), refreshed, edited, unpinned, and its versions listed,
/// read and restored.
struct SummaryController: Sendable {
    let requests: RequestGuard
    let summaries: SummaryRepository
    let jobs: JobQueue
    let feedback: FeedbackRepository
    /// The base model: counts tokens and scores edited summaries.
    let model: any PreferenceModel
    let prompts: PromptBuilder
    let generations: GenerationRunner
    let configuration: APIConfiguration

    func register(in router: inout Router) {
        router.get("/v1/users/{user_id}/summary", requests.authorized(.read, getSummary))
        router.post("/v1/users/{user_id}/summary/refresh", requests.authorized(.write, refreshSummary))
        router.put("/v1/users/{user_id}/summary", requests.authorized(.write, putSummary))
        router.delete("/v1/users/{user_id}/summary/pin", requests.authorized(.write, unpinSummary))
        router.get("/v1/users/{user_id}/summary/versions", requests.authorized(.read, listVersions))
        router.get("/v1/users/{user_id}/summary/versions/{version}", requests.authorized(.read) { [self] request, caller in
            let (user, version) = try await versionParameters(request, caller)
            guard let found = try await summaries.get(user: user.id, version: version) else {
                throw HTTPError.versionNotFound
            }
            return try Response.json(API.SummaryVersion(found))
        })
        router.post("/v1/users/{user_id}/summary/versions/{version}/restore", requests.authorized(.write) { [self] request, caller in
            let (user, version) = try await versionParameters(request, caller)
            let restored = try await RequestGuard.writeForUser {
                try await summaries.restore(user: user.id, version: version, pinned: true)
            }
            guard restored != nil else { throw HTTPError.versionNotFound }
            return try await summaryResponse(caller, user.externalID)
        })
    }

    private func state(_ caller: Caller, _ user: String) async throws -> SummaryState {
        guard let state = try await summaries.state(tenant: caller.tenantID, externalUserID: user) else {
            throw HTTPError.userNotFound
        }
        return state
    }

    private func summaryResponse(_ caller: Caller, _ user: String) async throws -> Response {
        let body = try JSONBody.encode(API.Summary(try await state(caller, user)))
        return .json(body, headers: ["ETag": Self.etag(body), "Cache-Control": "no-cache"])
    }

    /// A weak ETag over the representation's bytes: changes whenever anything shown changes.
    private static func etag(_ body: [UInt8]) -> String {
        "W/\"" + SHA256.digest(body).prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
    }

    private func getSummary(_ request: Request, _ caller: Caller) async throws -> Response {
        let response = try await summaryResponse(caller, try RequestGuard.userID(request))
        if let tag = response.headers["ETag"], let match = request.headers["If-None-Match"],
           match == "*" || match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == tag }) {
            return Response(status: .notModified, headers: ["ETag": tag, "Cache-Control": "no-cache"])
        }
        return response
    }

    /// Queues a refresh now (no debounce); with `?wait=SECONDS` answers once it finished or the
    /// time is up (202 with the job then). The wait is woken by the job's completion (NOTIFY,
    /// from whichever replica ran it), not by polling. 429 when the tenant's queue is full.
    private func refreshSummary(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        let wait = try request.queryValue("wait").map { text -> Double in
            guard let seconds = Double(text), seconds >= 0, seconds <= configuration.maxRefreshWaitSeconds else {
                throw HTTPError.invalidRequest("wait must be a number of seconds between 0 and \(Int(configuration.maxRefreshWaitSeconds))")
            }
            return seconds
        } ?? 0
        let current = try await state(caller, user)
        if current.current?.pinned == true {
            throw HTTPError.summaryPinned
        }
        var job: Job
        do {
            job = try await RequestGuard.writeForUser {
                try await jobs.enqueue(NewJob.summaryRefresh(for: current.user.id, delay: 0,
                                                             maxQueuedPerTenant: configuration.maxQueuedRefreshesPerTenant)).job
            }
        } catch StoreError.queueFull(let limit) {
            throw HTTPError.refreshQueueFull(limit: limit)
        }
        // Merged into a debounced job from new feedback: the merge keeps its later start; start now.
        if job.state == .pending, job.runAfter > Date() {
            job = try await jobs.runNow(job.id) ?? job
        }
        var latest = job
        if wait > 0, latest.state == .pending || latest.state == .running {
            let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
            latest = try await jobs.waitUntilFinished(job.id, until: deadline) ?? latest
        }
        if latest.state == .done || latest.state == .superseded {
            return try await summaryResponse(caller, user)
        }
        return try Response.json(API.RefreshAccepted(userID: user, refreshJob: API.Job(latest)), status: .accepted)
    }

    /// An edited summary (up to 2 KiB: at most 2048 tokens, so it fits the default prompt and
    /// context limits): stored as a new version, pinned unless `"pinned": false`, and scored on
    /// the user's newest pairs with POPI's reward like any other version (pairs too long to score
    /// with it are left out).
    private func putSummary(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        let edit = try API.SummaryEdit(try await requests.jsonBody(request))
        try checkUsable(summary: edit.text)
        let found = try await state(caller, user).user
        let snapshot = try await feedback.newestSignals(user: found.id, pairs: configuration.editedSummaryScoringPairs,
                                                        statements: 0, contents: 0, distinctPairs: true)
        let pairs = (snapshot?.events ?? []).compactMap { event -> PreferencePair? in
            guard case let .pair(prompt, chosen, rejected) = event.content else { return nil }
            return PreferencePair(prompt: prompt, chosen: chosen, rejected: rejected)
        }.filter { fitsContext($0, summary: edit.text) }
        var scores = SummaryScores(summaryTokens: model.tokenCount(edit.text))
        if !pairs.isEmpty {
            let optimizer = SummaryOptimizer(model: model, options: configuration.summary)
            let evaluation = try await generations.withSlot(for: caller.tenantID) { try await optimizer.evaluate(summary: edit.text, on: Array(pairs)) }
            scores.reward = evaluation.reward
            scores.accuracy = evaluation.accuracy
            scores.heldOutCount = pairs.count
        }
        let version = NewSummaryVersion(text: edit.text, sourceEventIDs: [], feedbackRevision: snapshot?.user.feedbackRevision,
                                        modelID: model.modelID, promptVersion: PromptBuilder.version, scores: scores,
                                        origin: .edited, pinned: edit.pinned)
        _ = try await RequestGuard.writeForUser { try await summaries.add(user: found.id, version) }
        return try await summaryResponse(caller, user)
    }

    /// An edited summary has to be usable: with an empty request it must stay within the prompt
    /// token limit, or every personalized generation for the user would be refused.
    private func checkUsable(summary: String) throws {
        let used: Int
        do {
            used = try model.promptTokens(prompts.generatorTurns(summary: summary, prompt: "")).count
        } catch {
            throw HTTPError.invalidPrompt("summary", error)
        }
        guard used < configuration.maxPromptTokens else {
            throw HTTPError.summaryTooLong(tokens: used, limit: configuration.maxPromptTokens)
        }
    }

    /// Whether `summary` can be scored on `pair` (as the optimizer cuts it) within the model's context.
    private func fitsContext(_ pair: PreferencePair, summary: String) -> Bool {
        let pair = prompts.scoredPair(pair)
        let response = max(model.tokenCount(pair.chosen), model.tokenCount(pair.rejected)) + 2
        guard let prompt = try? model.promptTokens(prompts.generatorTurns(summary: summary, prompt: pair.prompt)) else {
            return false
        }
        return prompt.count + response <= model.contextLength
    }

    private func unpinSummary(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        let found = try await state(caller, user)
        _ = try await summaries.unpin(user: found.user.id)
        // Feedback may have moved on while the summary was pinned: catch up (unless the tenant's
        // queue is full: the summary then stays stale, as after feedback that found it full).
        if let current = found.current, current.feedbackRevision < found.user.feedbackRevision {
            do {
                _ = try await RequestGuard.writeForUser { try await jobs.enqueue(configuration.refreshJob(found.user.id)) }
            } catch StoreError.queueFull {}
        }
        return try await summaryResponse(caller, user)
    }

    private func listVersions(_ request: Request, _ caller: Caller) async throws -> Response {
        let user = try RequestGuard.userID(request)
        let limit = try RequestGuard.queryInteger(request, "limit", in: 1...100) ?? 20
        let before = try RequestGuard.queryInteger(request, "before", in: 1...Int(Int32.max))
        let found = try await state(caller, user).user
        // One more than asked tells whether another page exists.
        let fetched = try await summaries.list(user: found.id, before: before, limit: limit + 1)
        let versions = fetched.prefix(limit)
        let next = fetched.count > limit ? versions.last.map { String($0.version) } : nil
        return try Response.json(API.SummaryVersionPage(userID: user, versions: versions.map(API.SummaryVersion.init),
                                                        nextBefore: next))
    }

    private func versionParameters(_ request: Request, _ caller: Caller) async throws -> (User, Int) {
        let user = try RequestGuard.userID(request)
        guard let raw = request.parameter("version"), let version = Int(raw), version >= 1, version <= Int(Int32.max) else {
            throw HTTPError.invalidRequest("version must be a positive integer")
        }
        return (try await state(caller, user).user, version)
    }
}
