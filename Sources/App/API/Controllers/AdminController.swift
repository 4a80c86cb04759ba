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
            let name = try tenantName(try FieldReader(try await requests.jsonBody(request)))
            if try await tenants.find(name: name) != nil {
                throw HTTPError.tenantExists
            }
            let tenant = try await tenants.create(name: name)
            return try Response.json(API.Tenant(tenant), status: .created)
        })
        router.get("/v1/admin/tenants", requests.authorized(.admin) { [self] _, _ in
            let list = try await tenants.list()
            return try Response.json(API.TenantList(tenants: list.map(API.Tenant.init)))
        })
        router.post("/v1/admin/tenants/{tenant_id}/keys", requests.authorized(.admin) { [self] request, _ in
            let tenant = try await tenant(request)
            let fields = try FieldReader(try await requests.jsonBody(request))
            let scopes = try keyScopes(fields)
            let name = try fields.string("name", nonEmpty: false, maxLength: 200) ?? ""
            let (secret, key) = try await APIKeySecret.issue(in: apiKeys, tenant: tenant.id, name: name, scopes: scopes)
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

    private func tenantName(_ fields: FieldReader) throws -> String {
        let name = try fields.requiredString("name", maxLength: 200)
        guard !name.containsControlCharacters else {
            throw HTTPError.invalidRequest("name: must not contain control characters")
        }
        return name.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func keyScopes(_ fields: FieldReader) throws -> Set<Scope> {
        guard let items = try fields.array("scopes", maxCount: 4) else { return [.read, .write, .generate] }
        let scopes = try items.map { item -> Scope in
            guard case .string(let name) = item, let scope = Scope(rawValue: name) else {
                throw HTTPError.invalidRequest("scopes: each scope is one of read, write, generate, admin")
            }
            return scope
        }
        guard !scopes.isEmpty else { throw HTTPError.invalidRequest("scopes: give at least one scope") }
        return Set(scopes)
    }
}
