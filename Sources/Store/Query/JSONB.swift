import Foundation

/// A `jsonb` value, carried as its JSON text (validated by the server when written).
public struct JSONB: Sendable, Hashable, PostgresEncodable, PostgresDecodable, CustomStringConvertible {
    public var text: String

    public init(text: String) { self.text = text }

    public static let emptyObject = JSONB(text: "{}")

    /// Encodes a value with JSONEncoder (sorted keys, so equal values give equal text).
    public init<T: Encodable>(encoding value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    public var description: String { text }

    public static var postgresType: PostgresType { .jsonb }

    public func encodePostgres(into buffer: inout [UInt8]) throws {
        buffer.append(1)   // jsonb binary format version
        try text.encodePostgres(into: &buffer)
    }

    public init(postgresCell cell: PostgresCell) throws {
        guard cell.type == .jsonb || cell.type == .json else { throw cell.mismatch(JSONB.self) }
        text = try String(postgresCell: cell)
    }
}
