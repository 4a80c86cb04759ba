import Foundation
import HTTPServer

/// How the API writes its JSON bodies: keys sorted (stable bytes, so stable ETags), slashes as
/// they are, timestamps RFC 3339 with fractional seconds in UTC.
enum JSONBody {
    /// One encoder for every response: its settings never change, and `encode` may run on many
    /// threads at once.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }()

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try encoder.encode(value))
    }

    /// One server-sent event's data.
    static func text(_ value: some Encodable) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }
}

extension Response {
    static func json(_ value: some Encodable, status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders()) throws -> Response {
        .json(try JSONBody.encode(value), status: status, headers: headers)
    }
}
