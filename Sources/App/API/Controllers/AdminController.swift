import Foundation
import HTTPServer
import Store

/// Tenants and keys, for keys with the `admin` scope (operators: they see every tenant).
struct AdminController: Sendable {
    let requests: RequestGuard
    let tenants: TenantRepository
    let apiKeys: APIKeyRepository
    /// Forgets a revoked key at once on this replica.
    let authenticator: KeyAuthenticator

    func register(in router: inout Router) {
        router.post("/v1/admin/tenants", requests.authorized(.admin) { [self] request, _ in
            let name = try API.TenantCreate(try await requests.jsonBody(request)).name
            // The unique name decides, so two concurrent creations cannot both pass a check first.
            let tenant: Tenant
            do {
                tenant = try await tenants.create(name: name)
            } catch StoreError.conflict {
                throw HTTPError.tenantExists
            }
            return try Response.json(API.Tenant(tenant), status: .created)
        })
        router.get("/v1/admin/tenants", requests.authorized(.admin) { [self] _, _ in
            let list = try await tenants.list()
            return try Response.json(API.TenantList(tenants: list.map(API.Tenant.init)))
        })
        router.post("/v1/admin/tenants/{tenant_id}/keys", requests.authorized(.admin) { [self] request, _ in
            let tenant = try await tenant(request)
            let create = try API.KeyCreate(try await requests.jsonBody(request))
            let issued: (APIKeySecret, Store.APIKey)
            do {
                issued = try await APIKeySecret.issue(in: apiKeys, tenant: tenant.id, name: create.name, scopes: create.scopes)
            } catch StoreError.notFound {
                // The tenant was deleted since it was found.
                throw HTTPError.tenantNotFound
            }
            let (secret, key) = issued
            return try Response.json(API.NewAPIKey(apiKey: API.APIKey(key), secret: secret.full), status: .created,
                                     headers: ["Cache-Control": "no-store"])
        })
        router.get("/v1/admin/tenants/{tenant_id}/keys", requests.authorized(.admin) { [self] request, _ in
            let tenant = try await tenant(request)
            let keys = try await apiKeys.list(tenant: tenant.id)
            return try Response.json(API.APIKeyList(keys: keys.map(API.APIKey.init)))
        })
        router.delete("/v1/admin/tenants/{tenant_id}/keys/{key_id}", requests.authorized(.admin) { [self] request, caller in
            let tenant = try await tenant(request)
            guard let raw = request.parameter("key_id"), let uuid = UUID(uuidString: raw) else {
                throw HTTPError.keyNotFound
            }
            guard APIKeyID(rawValue: uuid) != caller.keyID else { throw HTTPError.cannotRevokeOwnKey }
            guard let key = try await apiKeys.revoke(tenant: tenant.id, id: APIKeyID(rawValue: uuid)) else {
                throw HTTPError.keyNotFound
            }
            authenticator.invalidate(prefix: key.prefix)
            return try Response.json(API.APIKey(key))
        })
    }

    private func tenant(_ request: Request) async throws -> Tenant {
        guard let raw = request.parameter("tenant_id"), let uuid = UUID(uuidString: raw),
              let tenant = try await tenants.find(id: TenantID(rawValue: uuid)) else {
            throw HTTPError.tenantNotFound
        }
        return tenant
    }
}
