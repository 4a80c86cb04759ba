public import Foundation

/// One value of a result row, in PostgreSQL's binary format; `bytes` is nil for SQL NULL.
public struct PostgresCell: Sendable {
    public let type: PostgresType
    public let bytes: ArraySlice<UInt8>?
    /// Column name, for error messages.
    public let column: String

    func require() throws -> ArraySlice<UInt8> {
        guard let bytes else { throw StoreError.decoding("column \(column) is NULL") }
        return bytes
    }

    func mismatch<T>(_ swiftType: T.Type) -> StoreError {
        StoreError.decoding("column \(column) has type \(type), which cannot be read as \(swiftType)")
    }
}

/// A Swift value that can be read from a result column.
public protocol PostgresDecodable: Sendable {
    init(postgresCell cell: PostgresCell) throws
}

extension ArraySlice<UInt8> {
    func bigEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int, column: String) throws -> T {
        let start = startIndex + offset
        guard offset >= 0, start + MemoryLayout<T>.size <= endIndex else {
            throw StoreError.decoding("column \(column): value is truncated")
        }
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size {
            value = (value << 8) | T(self[start + i])
        }
        return value
    }
}

extension String: PostgresDecodable {
    public init(postgresCell cell: PostgresCell) throws {
        let bytes = try cell.require()
        switch cell.type {
        case .text, .varchar, .bpchar, .name, .json, .unknown:
            self = String(decoding: bytes, as: UTF8.self)
        case .jsonb:
            guard bytes.first == 1 else { throw StoreError.decoding("column \(cell.column): unknown jsonb format") }
            self = String(decoding: bytes.dropFirst(), as: UTF8.self)
        default:
            throw cell.mismatch(String.self)
        }
    }
}

extension Int64: PostgresDecodable {
    public init(postgresCell cell: PostgresCell) throws {
        let bytes = try cell.require()
        switch cell.type {
        case .int8: self = try bytes.bigEndian(Int64.self, at: 0, column: cell.column)
        case .int4: self = Int64(try bytes.bigEndian(Int32.self, at: 0, column: cell.column))
        case .int2: self = Int64(try bytes.bigEndian(Int16.self, at: 0, column: cell.column))
        default: throw cell.mismatch(Int64.self)
        }
    }
}

extension Int: PostgresDecodable {
    public init(postgresCell cell: PostgresCell) throws {
        self = Int(try Int64(postgresCell: cell))
    }
}

extension Int32: PostgresDecodable {
    public init(postgresCell cell: PostgresCell) throws {
        let wide = try Int64(postgresCell: cell)
        guard let narrow = Int32(exactly: wide) else {
            throw StoreError.decoding("column \(cell.column): \(wide) does not fit in Int32")
        }
        self = narrow
    }
}

extension Bool: PostgresDecodable {
    public init(postgresCell cell: PostgresCell) throws {
        let bytes = try cell.require()
        guard cell.type == .bool, bytes.count == 1 else { throw cell.mismatch(Bool.self) }
        self = bytes.first != 0
    }
}

extension Double: PostgresDecodable {
    public init(postgresCell cell: PostgresCell) throws {
        let bytes = try cell.require()
        switch cell.type {
        case .float8: self = Double(bitPattern: try bytes.bigEndian(UInt64.self, at: 0, column: cell.column))
        case .float4: self = Double(Float(bitPattern: try bytes.bigEndian(UInt32.self, at: 0, column: cell.column)))
        case .int8, .int4, .int2: self = Double(try Int64(postgresCell: cell))
        default: throw cell.mismatch(Double.self)
        }
    }
}

extension Date: PostgresDecodable {
    public init(postgresCell cell: PostgresCell) throws {
        let bytes = try cell.require()
        guard cell.type == .timestamptz || cell.type == .timestamp else { throw cell.mismatch(Date.self) }
        let micros = try bytes.bigEndian(Int64.self, at: 0, column: cell.column)
        switch micros {
        case .max: self = .distantFuture    // 'infinity'
        case .min: self = .distantPast      // '-infinity'
        default:
            // Whole seconds and microseconds apart, so a round trip through Double stays exact to 1 µs.
            let (seconds, remainder) = micros.quotientAndRemainder(dividingBy: 1_000_000)
            self = Date(timeIntervalSince1970: postgresEpochOffset + Double(seconds) + Double(remainder) / 1_000_000)
        }
    }
}

extension UUID: PostgresDecodable {
    public init(postgresCell cell: PostgresCell) throws {
        let bytes = try cell.require()
        guard cell.type == .uuid, bytes.count == 16 else { throw cell.mismatch(UUID.self) }
        let b = Array(bytes)
        self = UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                           b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}

extension Data: PostgresDecodable {
    public init(postgresCell cell: PostgresCell) throws {
        let bytes = try cell.require()
        guard cell.type == .bytea else { throw cell.mismatch(Data.self) }
        self = Data(bytes)
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init(postgresCell cell: PostgresCell) throws {
        self = cell.bytes == nil ? nil : try Wrapped(postgresCell: cell)
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public init(postgresCell cell: PostgresCell) throws {
        let bytes = try cell.require()
        let column = cell.column
        let dimensions = try bytes.bigEndian(Int32.self, at: 0, column: column)
        let elementType = PostgresType(oid: try bytes.bigEndian(UInt32.self, at: 8, column: column))
        guard elementType.arrayType == cell.type || dimensions == 0 else { throw cell.mismatch([Element].self) }
        if dimensions == 0 {
            self = []
            return
        }
        guard dimensions == 1 else {
            throw StoreError.decoding("column \(column): only one-dimensional arrays are supported")
        }
        let count = Int(try bytes.bigEndian(Int32.self, at: 12, column: column))
        var offset = 20
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count {
            let length = Int(try bytes.bigEndian(Int32.self, at: offset, column: column))
            offset += 4
            var element: ArraySlice<UInt8>?
            if length >= 0 {
                let start = bytes.startIndex + offset
                guard start + length <= bytes.endIndex else {
                    throw StoreError.decoding("column \(column): array is truncated")
                }
                element = bytes[start..<start + length]
                offset += length
            }
            elements.append(try Element(postgresCell: PostgresCell(type: elementType, bytes: element, column: column)))
        }
        self = elements
    }
}
