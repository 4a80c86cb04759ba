import HTTPServer
import Store

/// Erasure (every row about the user, in one transaction, with counts per table) and export
/// (everything stored about the user, as JSON).
struct UserDataController: Sendable {
    let requests: RequestGuard
    let userData: UserDataRepository

    func register(in router: inout Router) {
        router.delete("/v1/users/{user_id}", requests.authorized(.write) { [self] request, caller in
            let user = try RequestGuard.userID(request)
            guard let report = try await userData.erase(tenant: caller.tenantID, externalUserID: user) else {
                throw HTTPError.userNotFound
            }
            var deleted: [String: JSONValue] = [:]
            for (table, rows) in report.byTable { deleted[table] = .int(rows) }
            return JSONValue.object(["user_id": .string(user), "deleted": .object(deleted), "total": .int(report.total)]).response()
        })
        router.get("/v1/users/{user_id}/export", requests.authorized(.read) { [self] request, caller in
            let user = try RequestGuard.userID(request)
            guard let export = try await userData.export(tenant: caller.tenantID, externalUserID: user) else {
                throw HTTPError.userNotFound
            }
            return JSONValue.object([
                "user": .object([
                    "user_id": .string(export.user.externalID),
                    "created_at": .date(export.user.createdAt),
                    "last_feedback_at": .optionalDate(export.user.lastFeedbackAt),
                    "feedback_revision": .int64(export.user.feedbackRevision),
                ]),
                "feedback": .array(export.events.map(Representation.event)),
                "summaries": .array(export.summaries.map(Representation.version)),
                "jobs": .array(export.jobs.map(Representation.job)),
                "usage": Representation.usage(export.usage),
            ]).response(headers: ["Content-Disposition": "attachment; filename=\"popi-user-export.json\""])
        })
    }
}
