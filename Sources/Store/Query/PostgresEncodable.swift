public import Foundation

/// A Swift value that can be bound as a query parameter, in PostgreSQL's binary format.
public protocol PostgresEncodable: Sendable {
    /// The parameter's type, sent with the statement so the server never has to guess.
    static var postgresType: PostgresType { get }
    /// True for SQL NULL (only `Optional.none`).
    var isPostgresNull: Bool { get }
    /// Appends the binary wire representation (not called for NULL).
    func encodePostgres(into buffer: inout [UInt8]) throws
}

extension PostgresEncodable {
    public var isPostgresNull: Bool { false }
}

/// One bound parameter: its type and value, encoded when the statement runs.
struct PostgresBind: Sendable {
    let type: PostgresType
    let value: any PostgresEncodable

    init<Value: PostgresEncodable>(_ value: Value) {
        self.type = Value.postgresType
        self.value = value
    }

    /// The encoded bytes, or nil for NULL.
    func encoded() throws -> [UInt8]? {
        if value.isPostgresNull { return nil }
        var buffer: [UInt8] = []
        try value.encodePostgres(into: &buffer)
        return buffer
    }
}

extension [UInt8] {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}

extension String: PostgresEncodable {
    public static var postgresType: PostgresType { .text }
    public func encodePostgres(into buffer: inout [UInt8]) throws {
        // PostgreSQL text cannot hold NUL; say so instead of letting the server reject the batch
        // with a message about encodings.
        if utf8.contains(0) { throw StoreError.invalidValue("text contains a NUL character") }
        buffer.append(contentsOf: utf8)
    }
}

extension Int: PostgresEncodable {
    public static var postgresType: PostgresType { .int8 }
    public func encodePostgres(into buffer: inout [UInt8]) { buffer.appendBigEndian(Int64(self)) }
}

extension Int64: PostgresEncodable {
    public static var postgresType: PostgresType { .int8 }
    public func encodePostgres(into buffer: inout [UInt8]) { buffer.appendBigEndian(self) }
}

extension Int32: PostgresEncodable {
    public static var postgresType: PostgresType { .int4 }
    public func encodePostgres(into buffer: inout [UInt8]) { buffer.appendBigEndian(self) }
}

extension Bool: PostgresEncodable {
    public static var postgresType: PostgresType { .bool }
    public func encodePostgres(into buffer: inout [UInt8]) { buffer.append(self ? 1 : 0) }
}

extension Double: PostgresEncodable {
    public static var postgresType: PostgresType { .float8 }
    public func encodePostgres(into buffer: inout [UInt8]) { buffer.appendBigEndian(bitPattern) }
}

/// Seconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 00:00:00 UTC).
let postgresEpochOffset: TimeInterval = 946_684_800

extension Date: PostgresEncodable {
    public static var postgresType: PostgresType { .timestamptz }
    public func encodePostgres(into buffer: inout [UInt8]) throws {
        let micros = ((timeIntervalSince1970 - postgresEpochOffset) * 1_000_000).rounded()
        guard micros.isFinite, abs(micros) < 9.2e18 else {
            throw StoreError.invalidValue("timestamp out of range")
        }
        buffer.appendBigEndian(Int64(micros))
    }
}

extension UUID: PostgresEncodable {
    public static var postgresType: PostgresType { .uuid }
    public func encodePostgres(into buffer: inout [UInt8]) {
        withUnsafeBytes(of: uuid) { buffer.append(contentsOf: $0) }
    }
}

extension Data: PostgresEncodable {
    public static var postgresType: PostgresType { .bytea }
    public func encodePostgres(into buffer: inout [UInt8]) { buffer.append(contentsOf: self) }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresType: PostgresType { Wrapped.postgresType }
    public var isPostgresNull: Bool {
        switch self {
        case .none: return true
        case .some(let value): return value.isPostgresNull
        }
    }
    public func encodePostgres(into buffer: inout [UInt8]) throws {
        if case .some(let value) = self { try value.encodePostgres(into: &buffer) }
    }
}

/// One-dimensional arrays of a bindable type, e.g. the columns of a batch passed to `unnest`.
extension Array: PostgresEncodable where Element: PostgresEncodable {
    public static var postgresType: PostgresType {
        guard let array = Element.postgresType.arrayType else {
            preconditionFailure("no PostgreSQL array type for \(Element.postgresType)")
        }
        return array
    }

    public func encodePostgres(into buffer: inout [UInt8]) throws {
        buffer.appendBigEndian(Int32(isEmpty ? 0 : 1))                 // dimensions
        buffer.appendBigEndian(Int32(contains { $0.isPostgresNull } ? 1 : 0))  // has nulls
        buffer.appendBigEndian(Element.postgresType.oid)
        guard !isEmpty else { return }
        buffer.appendBigEndian(Int32(count))                            // length of dimension 1
        buffer.appendBigEndian(Int32(1))                                // lower bound
        for element in self {
            if element.isPostgresNull {
                buffer.appendBigEndian(Int32(-1))
                continue
            }
            let lengthAt = buffer.count
            buffer.appendBigEndian(Int32(0))
            try element.encodePostgres(into: &buffer)
            let length = Int32(buffer.count - lengthAt - 4).bigEndian
            Swift.withUnsafeBytes(of: length) { bytes in
                for i in 0..<4 { buffer[lengthAt + i] = bytes[i] }
            }
        }
    }
}
