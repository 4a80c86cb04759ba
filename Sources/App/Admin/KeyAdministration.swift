import Foundation
import Logging
import Store

/// `popi keys …`: keys made and revoked from the command line (the operator's first admin key
/// comes from here).
enum KeyAdministration {
    struct CreatedKey: Sendable {
        let secret: String
        let keyID: String
        let tenantName: String
        let scopes: [String]
    }

    /// Creates a key for `tenant` (created if new); the secret is returned once and never stored.
    static func create(_ settings: DatabaseSettings, tenant: String, scopes: String, name: String,
                              logger: Logger) throws -> CreatedKey {
        let scopeSet = try parseScopes(scopes)
        let tenantName = tenant.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(tenantName.utf8.count) else { throw KeyAdministrationError("--tenant must be 1-200 bytes") }
        return try withStore(settings, logger) { store in
            let tenant = try await store.tenants.findOrCreate(name: tenantName)
            let (secret, key) = try await APIKeySecret.issue(in: store.apiKeys, tenant: tenant.id, name: name, scopes: scopeSet)
            return CreatedKey(secret: secret.full, keyID: key.id.description, tenantName: tenant.name, scopes: key.scopes)
        }
    }

    /// One line per key of the tenant: id, prefix, scopes, state. Secrets are never shown.
    static func list(_ settings: DatabaseSettings, tenant: String, logger: Logger) throws -> [String] {
        try withStore(settings, logger) { store in
            guard let found = try await store.tenants.find(name: tenant) else {
                throw KeyAdministrationError("no tenant named \(tenant)")
            }
            return try await store.apiKeys.list(tenant: found.id).map { key in
                "\(key.id)  popi_\(key.prefix)_…  \(key.scopes.joined(separator: ","))  \(key.isRevoked ? "revoked" : "active")  \(key.name)"
            }
        }
    }

    static func revoke(_ settings: DatabaseSettings, tenant: String, keyID: String, logger: Logger) throws {
        guard let uuid = UUID(uuidString: keyID) else { throw KeyAdministrationError("--id must be a key id (a UUID)") }
        try withStore(settings, logger) { store in
            guard let found = try await store.tenants.find(name: tenant),
                  try await store.apiKeys.revoke(tenant: found.id, id: APIKeyID(rawValue: uuid)) != nil else {
                throw KeyAdministrationError("tenant \(tenant) has no key \(keyID)")
            }
        }
    }

    static func parseScopes(_ text: String) throws -> Set<Scope> {
        var scopes = Set<Scope>()
        for part in text.split(separator: ",") {
            let name = part.trimmingCharacters(in: .whitespaces)
            guard let scope = Scope(rawValue: name) else {
                throw KeyAdministrationError("unknown scope \"\(name)\" (known: read, write, generate, admin)")
            }
            scopes.insert(scope)
        }
        guard !scopes.isEmpty else { throw KeyAdministrationError("--scopes needs at least one scope") }
        return scopes
    }

    private static func withStore<T: Sendable>(_ settings: DatabaseSettings, _ logger: Logger,
                                               _ body: @escaping @Sendable (DataStore) async throws -> T) throws -> T {
        let database = try ServiceDatabase.open(settings, logger: logger)
        defer { database.close(stopAdoptedCluster: false, logger: logger) }
        return try runBlocking { try await body(database.store) }
    }
}

struct KeyAdministrationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
