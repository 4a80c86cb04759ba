/// The rows a statement returned, copied out of libpq into Swift memory (binary format).
public struct QueryResult: Sendable, RandomAccessCollection {
    public struct Column: Sendable {
        public let name: String
        public let type: PostgresType
    }

    public let columns: [Column]
    /// Rows inserted, updated or deleted, as the server reported it (0 when not applicable).
    public let affectedRows: Int
    let storage: [UInt8]
    /// For each cell (row-major): start offset into `storage` and length, or -1 for NULL.
    let cells: [(start: Int32, length: Int32)]
    let rowCount: Int

    init(columns: [Column], affectedRows: Int, storage: [UInt8], cells: [(start: Int32, length: Int32)], rowCount: Int) {
        self.columns = columns
        self.affectedRows = affectedRows
        self.storage = storage
        self.cells = cells
        self.rowCount = rowCount
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { rowCount }

    public subscript(position: Int) -> Row {
        Row(result: self, index: position)
    }

    func columnIndex(named name: String) throws -> Int {
        guard let index = columns.firstIndex(where: { $0.name == name }) else {
            throw StoreError.decoding("no column named \(name) in the result")
        }
        return index
    }

    func cell(row: Int, column: Int) throws -> PostgresCell {
        guard columns.indices.contains(column) else {
            throw StoreError.decoding("column index \(column) out of range (\(columns.count) columns)")
        }
        let (start, length) = cells[row * columns.count + column]
        let bytes: ArraySlice<UInt8>? = length < 0 ? nil : storage[Int(start)..<Int(start) + Int(length)]
        return PostgresCell(type: columns[column].type, bytes: bytes, column: columns[column].name)
    }
}

/// One result row; decode its values by position or by column name.
public struct Row: Sendable {
    let result: QueryResult
    let index: Int

    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        try T(postgresCell: result.cell(row: index, column: column))
    }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try T(postgresCell: result.cell(row: index, column: result.columnIndex(named: column)))
    }

    /// The first columns of the row decoded in order, e.g. `let (id, name) = try row.decode(Int64.self, String.self)`.
    public func decode<each T: PostgresDecodable>(_ types: repeat (each T).Type) throws -> (repeat each T) {
        var column = 0
        func next<U: PostgresDecodable>(_: U.Type) throws -> U {
            defer { column += 1 }
            return try decode(column, as: U.self)
        }
        return (repeat try next(each types))
    }
}
