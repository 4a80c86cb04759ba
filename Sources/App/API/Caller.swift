import HTTPServer
import Store

/// What a key may do. `admin` manages tenants and keys (of every tenant).
enum Scope: String, Sendable, CaseIterable, Comparable {
    case read, write, generate, admin

    static func < (a: Scope, b: Scope) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// The authenticated caller of a request.
struct Caller: Sendable {
    let keyID: APIKeyID
    let tenantID: TenantID
}
