import HTTPServer
import Store

/// What a key may do. `admin` manages tenants and keys (of every tenant).
public enum Scope: String, Sendable, CaseIterable, Comparable {
    case read, write, generate, admin

    public static func < (a: Scope, b: Scope) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// The authenticated caller of a request.
public struct Caller: Sendable {
    public let keyID: APIKeyID
    public let tenantID: TenantID
}
