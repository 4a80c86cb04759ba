import HTTPServer

extension API {
    /// A new key's scopes (read, write and generate unless given) and name (may be empty).
    struct KeyCreate: Sendable {
        let scopes: Set<Scope>
        let name: String

        init(_ body: JSONValue) throws {
            let fields = try FieldReader(body)
            scopes = try Self.scopes(fields)
            name = try fields.string("name", nonEmpty: false, maxLength: 200) ?? ""
        }

        private static func scopes(_ fields: FieldReader) throws -> Set<Scope> {
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
}
