import Foundation
import HTTPServer
import Store

extension PopiAPI {
    /// Tenants and keys, for keys with the `admin` scope (operators: they see every tenant).
    func addAdminRoutes(to router: inout Router) {
        router.post("/v1/admin/tenants", authorized(.admin) { [self] request, _ in
            let name = try tenantName(try FieldReader(try await jsonBody(request)))
            if try await run({ try await self.store.tenants.find(name: name) }) != nil {
                throw HTTPError(.conflict, code: "tenant_exists", message: "a tenant with this name exists")
            }
            let tenant = try await run({ try await self.store.tenants.create(name: name) })
            return Representation.tenant(tenant).response(status: .created)
        })
        router.get("/v1/admin/tenants", authorized(.admin) { [self] _, _ in
            let tenants = try await run({ try await self.store.tenants.list() })
            return JSONValue.object(["tenants": .array(tenants.map(Representation.tenant))]).response()
        })
        router.post("/v1/admin/tenants/{tenant_id}/keys", authorized(.admin) { [self] request, _ in
            let tenant = try await tenant(request)
            let fields = try FieldReader(try await jsonBody(request))
            let scopes = try keyScopes(fields)
            let name = try fields.string("name", nonEmpty: false, maxLength: 200) ?? ""
            let (secret, key) = try await createKey(tenant: tenant.id, name: name, scopes: scopes)
            guard case .object(var body) = Representation.key(key) else { return Response(status: .internalServerError) }
            body["key"] = .string(secret.full)
            return JSONValue.object(body).response(status: .created, headers: ["Cache-Control": "no-store"])
        })
        router.get("/v1/admin/tenants/{tenant_id}/keys", authorized(.admin) { [self] request, _ in
            let tenant = try await tenant(request)
            let keys = try await run({ try await self.store.apiKeys.list(tenant: tenant.id) })
            return JSONValue.object(["keys": .array(keys.map(Representation.key))]).response()
        })
        router.delete("/v1/admin/tenants/{tenant_id}/keys/{key_id}", authorized(.admin) { [self] request, caller in
            let tenant = try await tenant(request)
            guard let raw = request.parameter("key_id"), let uuid = UUID(uuidString: raw) else {
                throw HTTPError(.notFound, code: "key_not_found", message: "no such key")
            }
            // A key revoking itself would lock its holder out mid-request; rotation creates the new key first.
            guard APIKeyID(rawValue: uuid) != caller.keyID else {
                throw HTTPError(.conflict, code: "cannot_revoke_own_key",
                                message: "a key cannot revoke itself; use another admin key or popi keys revoke")
            }
            guard let key = try await run({ try await self.store.apiKeys.revoke(tenant: tenant.id, id: APIKeyID(rawValue: uuid)) }) else {
                throw HTTPError(.notFound, code: "key_not_found", message: "no such key")
            }
            authenticator.invalidate(prefix: key.prefix)
            return Representation.key(key).response()
        })
    }

    private func tenant(_ request: Request) async throws -> Tenant {
        guard let raw = request.parameter("tenant_id"), let uuid = UUID(uuidString: raw),
              let tenant = try await run({ try await self.store.tenants.find(id: TenantID(rawValue: uuid)) }) else {
            throw HTTPError(.notFound, code: "tenant_not_found", message: "no such tenant")
        }
        return tenant
    }

    private func tenantName(_ fields: FieldReader) throws -> String {
        let name = try fields.requiredString("name", maxLength: 200)
        guard !name.containsControlCharacters else {
            throw FieldReader.invalid("name: must not contain control characters")
        }
        return name.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func keyScopes(_ fields: FieldReader) throws -> Set<Scope> {
        guard let items = try fields.array("scopes", maxCount: 4) else { return [.read, .write, .generate] }
        let scopes = try items.map { item -> Scope in
            guard case .string(let name) = item, let scope = Scope(rawValue: name) else {
                throw FieldReader.invalid("scopes: each scope is one of read, write, generate, admin")
            }
            return scope
        }
        guard !scopes.isEmpty else { throw FieldReader.invalid("scopes: give at least one scope") }
        return Set(scopes)
    }

    /// Makes a key; only its prefix and SHA-256 are stored. The secret is returned once.
    func createKey(tenant: TenantID, name: String, scopes: Set<Scope>) async throws -> (APIKeySecret, Store.APIKey) {
        try await Self.createKey(store: store, tenant: tenant, name: name, scopes: scopes)
    }

    static func createKey(store: DataStore, tenant: TenantID, name: String, scopes: Set<Scope>) async throws -> (APIKeySecret, Store.APIKey) {
        let secret = try APIKeySecret.generate()
        let key = try await store.apiKeys.create(tenant: tenant, name: name, prefix: secret.prefix,
                                                 secretSHA256: Data(secret.hash), scopes: scopes.sorted().map(\.rawValue))
        return (secret, key)
    }
}
