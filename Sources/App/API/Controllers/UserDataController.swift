import HTTPServer
import Store

/// Erasure (every row about the user, in one transaction, with counts per table) and export
/// (everything stored about the user, as JSON streamed page by page, so its size does not
/// matter to the server's memory).
struct UserDataController: Sendable {
    let requests: RequestGuard
    let userData: UserDataRepository
    /// Rows an export reads per query (and writes per chunk).
    static let exportPageRows = 500

    func register(in router: inout Router) {
        router.delete("/v1/users/{user_id}", requests.authorized(.write) { [self] request, caller in
            let user = try RequestGuard.userID(request)
            guard let report = try await userData.erase(tenant: caller.tenantID, externalUserID: user) else {
                throw HTTPError.userNotFound
            }
            return try Response.json(API.ErasureReport(userID: user, report))
        })
        router.get("/v1/users/{user_id}/export", requests.authorized(.read) { [self] request, caller in
            let user = try RequestGuard.userID(request)
            guard let export = try await userData.export(tenant: caller.tenantID, externalUserID: user) else {
                throw HTTPError.userNotFound
            }
            let document = API.UserExport(export: export, userData: userData, pageRows: Self.exportPageRows)
            return Response(headers: ["Content-Type": "application/json",
                                      "Content-Disposition": "attachment; filename=\"popi-user-export.json\""],
                            body: .stream { writer in try await document.write(to: writer) })
        })
    }
}
