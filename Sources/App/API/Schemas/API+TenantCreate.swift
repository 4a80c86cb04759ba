import Foundation
import HTTPServer

extension API {
    struct TenantCreate: Sendable {
        let name: String

        init(_ body: JSONValue) throws {
            let name = try FieldReader(body).requiredString("name", maxLength: 200)
            guard !name.containsControlCharacters else {
                throw HTTPError.invalidRequest("name: must not contain control characters")
            }
            self.name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
