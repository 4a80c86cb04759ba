import Store

/// The key `popi serve --dev` prints at start: tenant `dev`, the scopes a walk-through needs and
/// not `admin` (which manages every tenant). Each start revokes the keys earlier starts made, so
/// a development database never piles up live keys that were printed to a terminal.
enum DevelopmentKey {
    static let tenant = "dev"
    /// The name every key made by `--dev` carries: how the next start finds them.
    static let name = "dev (popi serve --dev)"
    static let scopes: Set<Scope> = [.read, .write, .generate]

    /// Revokes the earlier development keys, then makes a new one.
    static func issue(in store: DataStore) async throws -> (secret: APIKeySecret, revoked: Int) {
        let tenant = try await store.tenants.findOrCreate(name: tenant)
        let revoked = try await store.apiKeys.revokeAll(tenant: tenant.id, named: name)
        let (secret, _) = try await APIKeySecret.issue(in: store.apiKeys, tenant: tenant.id, name: name, scopes: scopes)
        return (secret, revoked)
    }

    /// The line printed on standard output (scripts read the key from it).
    static func announcement(_ secret: APIKeySecret) -> String {
        "development key (tenant \"\(tenant)\", scopes \(scopes.sorted().map(\.rawValue).joined(separator: ","))): \(secret.full)\n"
    }
}
