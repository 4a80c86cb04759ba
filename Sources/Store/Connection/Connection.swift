import CLibPQ
import Foundation

/// One libpq connection. Only ever used on its pool slot's dedicated thread, inside
/// `ConnectionPool.withConnection` / `transaction` closures; it is deliberately not Sendable.
public final class Connection {
    private let handle: OpaquePointer
    /// Prepared statement names by statement text and parameter types (per connection).
    private var statements: [String: String] = [:]
    private static let statementCacheLimit = 500
    /// Largest result copied out of libpq: `QueryResult` addresses its bytes with Int32 offsets.
    /// Settable so tests can reach it without a 2 GiB result.
    var maxResultBytes = Int(Int32.max)
    /// Rows copied out of results so far: the pool sums them (`PoolStatistics.rowsFetched`).
    private(set) var rowsFetched: UInt64 = 0

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQfinish(handle)
    }

    /// Opens a connection (blocking; call it on a dedicated thread).
    static func connect(_ configuration: DatabaseConfiguration) throws -> Connection {
        let pairs = configuration.connectParameters
        let keywords = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        var keywordPointers = keywords.map { UnsafePointer<CChar>($0) } + [nil]
        var valuePointers = values.map { UnsafePointer<CChar>($0) } + [nil]
        guard let handle = PQconnectdbParams(&keywordPointers, &valuePointers, 1) else {
            throw StoreError.unavailable("out of memory creating a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.cleanMessage(PQerrorMessage(handle))
            PQfinish(handle)
            throw StoreError.unavailable(message)
        }
        // libpq prints server notices (e.g. "relation … already exists, skipping") to stderr by
        // default; they are not errors and must not end up in popi's output.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        return Connection(handle: handle)
    }

    /// libpq messages end with newlines and sometimes span lines; make them one line.
    static func cleanMessage(_ pointer: UnsafePointer<CChar>?) -> String {
        guard let pointer else { return "unknown error" }
        let lines = String(cString: pointer)
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return lines.isEmpty ? "unknown error" : lines.joined(separator: "; ")
    }

    /// True while the server end is still there. Costs no round trip: a closed or terminated
    /// session shows up as a readable socket (the server's goodbye or EOF) while we are idle.
    var isUsable: Bool {
        guard PQstatus(handle) == CONNECTION_OK else { return false }
        let socket = PQsocket(handle)
        guard socket >= 0 else { return false }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, 0)
        if ready == 0 { return true }
        if ready < 0 { return errno == EINTR }
        if descriptor.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { return false }
        if PQconsumeInput(handle) == 0 { return false }
        while let notification = PQnotifies(handle) { PQfreemem(notification) }
        return PQstatus(handle) == CONNECTION_OK
    }

    // MARK: Notifications (for `NotificationListener`, which owns its connection)

    /// The socket to poll for input (-1 when there is none).
    var socket: Int32 { PQsocket(handle) }

    /// Reads what the server sent; false when the connection broke.
    func consumeInput() -> Bool {
        PQconsumeInput(handle) != 0 && PQstatus(handle) == CONNECTION_OK
    }

    /// The next notification read by `consumeInput`, if any.
    func nextNotification() -> (channel: String, payload: String)? {
        guard let notification = PQnotifies(handle) else { return nil }
        defer { PQfreemem(notification) }
        return (String(cString: notification.pointee.relname), String(cString: notification.pointee.extra))
    }

    /// True outside a transaction block (so the connection can go back to the pool as is).
    var isIdle: Bool { PQtransactionStatus(handle) == PQTRANS_IDLE }

    var isInFailedOrOpenTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    // MARK: Statements

    /// Runs a statement with bound parameters and returns its rows (prepared once per connection).
    @discardableResult
    public func query(_ sql: SQL) throws -> QueryResult {
        let text = sql.text
        let types = sql.binds.map(\.type.oid)
        let key = text + "\u{0}" + types.map(String.init).joined(separator: ",")
        let values = try sql.binds.map { try $0.encoded() }

        let name: String
        if let cached = statements[key] {
            name = cached
        } else {
            if statements.count >= Self.statementCacheLimit {
                try simple("DEALLOCATE ALL")
                statements.removeAll()
            }
            name = "popi_\(statements.count + 1)"
            let prepared = types.withUnsafeBufferPointer { typePointer in
                PQprepare(handle, name, text, Int32(types.count), typePointer.baseAddress)
            }
            _ = try consume(prepared)
            statements[key] = name
        }

        let lengths = values.map { Int32($0?.count ?? 0) }
        let formats = [Int32](repeating: 1, count: values.count)
        let result: OpaquePointer? = withParameterPointers(values) { pointers in
            PQexecPrepared(handle, name, Int32(values.count), pointers, lengths, formats, 1)
        }
        return try consume(result)
    }

    /// Runs a statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ sql: SQL) throws -> Int {
        try query(sql).affectedRows
    }

    /// Runs `body` inside BEGIN … COMMIT; any error (or a failed COMMIT) rolls back and rethrows.
    public func transaction<T>(_ body: (Connection) throws -> T) throws -> T {
        try simple("BEGIN")
        do {
            let value = try body(self)
            try simple("COMMIT")
            return value
        } catch {
            if PQstatus(handle) == CONNECTION_OK, !isIdle {
                _ = try? simple("ROLLBACK")
            }
            throw error
        }
    }

    /// Runs program-supplied SQL text through the simple query protocol: no parameters,
    /// several statements allowed (migrations, BEGIN/COMMIT). Never pass outside input.
    func simple(_ text: String) throws {
        _ = try consume(PQexec(handle, text))
    }

    private func withParameterPointers<R>(_ values: [[UInt8]?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        // Copy every value into one contiguous buffer so the pointers stay valid for the call.
        var storage = [UInt8]()
        storage.reserveCapacity(values.reduce(0) { $0 + ($1?.count ?? 0) } + 1)
        var offsets: [Int?] = []
        for value in values {
            if let value {
                offsets.append(storage.count)
                storage.append(contentsOf: value)
            } else {
                offsets.append(nil)
            }
        }
        storage.append(0)
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            return body(offsets.map { $0.map { base + $0 } })
        }
    }

    /// Checks a result, copies it into Swift memory and frees it.
    private func consume(_ result: OpaquePointer?) throws -> QueryResult {
        guard let result else {
            throw failure()
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            let copied = try Self.copy(result, maxBytes: maxResultBytes)
            rowsFetched += UInt64(copied.count)
            return copied
        default:
            if PQstatus(handle) != CONNECTION_OK {
                throw StoreError.connectionLost(Self.cleanMessage(PQresultErrorMessage(result)))
            }
            func field(_ code: UInt8) -> String? {
                PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
            }
            guard let sqlState = field(UInt8(ascii: "C")) else {
                throw StoreError.connectionLost(Self.cleanMessage(PQresultErrorMessage(result)))
            }
            throw StoreError.server(ServerError(
                sqlState: sqlState,
                message: field(UInt8(ascii: "M")) ?? "unknown error",
                detail: field(UInt8(ascii: "D")),
                constraint: field(UInt8(ascii: "n"))))
        }
    }

    private func failure() -> StoreError {
        let message = Self.cleanMessage(PQerrorMessage(handle))
        return PQstatus(handle) == CONNECTION_OK ? .unavailable(message) : .connectionLost(message)
    }

    private static func copy(_ result: OpaquePointer, maxBytes: Int) throws(StoreError) -> QueryResult {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var columns: [QueryResult.Column] = []
        columns.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            let name = PQfname(result, Int32(column)).map { String(cString: $0) } ?? "?column?"
            columns.append(.init(name: name, type: PostgresType(oid: PQftype(result, Int32(column)))))
        }
        var storage: [UInt8] = []
        var cells: [(start: Int32, length: Int32)] = []
        cells.reserveCapacity(rowCount * columnCount)
        for row in 0..<Int32(rowCount) {
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) != 0 {
                    cells.append((Int32(storage.count), -1))
                    continue
                }
                let length = Int(PQgetlength(result, row, column))
                guard length <= maxBytes - storage.count else { throw .resultTooLarge(limit: maxBytes) }
                cells.append((Int32(storage.count), Int32(length)))
                if length > 0, let value = PQgetvalue(result, row, column) {
                    value.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                        storage.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length))
                    }
                }
            }
        }
        let affected = PQcmdTuples(result).map { Int(String(cString: $0)) ?? 0 } ?? 0
        return QueryResult(columns: columns, affectedRows: affected, storage: storage, cells: cells, rowCount: rowCount)
    }
}
