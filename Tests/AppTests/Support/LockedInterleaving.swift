import Foundation
@testable import Store

/// Forces one interleaving of a request and a concurrent change with real statements, no hooks:
/// a transaction of its own runs `lock` (taking row locks), the request is sent, and once the
/// request's own statement waits on those locks (`pg_blocking_pids`, polled), the transaction
/// runs `change` and commits, so the request resumes after the change, as a racing client's
/// would.
enum LockedInterleaving {
    static func run<T: Sendable>(_ pool: ConnectionPool, lock: [SQL], then change: [SQL],
                                 request: @escaping @Sendable () async throws -> T) async throws -> T {
        let (locked, signal) = AsyncStream<Void>.makeStream()
        async let holder: Void = pool.transaction { connection in
            for statement in lock { _ = try connection.query(statement) }
            signal.finish()
            try waitForAWaiter(connection)
            for statement in change { _ = try connection.query(statement) }
        }
        for await _ in locked {}
        async let response = request()
        try await holder
        return try await response
    }

    /// Until another session waits on a lock this transaction holds; a deadline (not a
    /// measurement) keeps a broken test from hanging. The waiters come from `pg_locks`, read
    /// afresh by every query: `pg_stat_activity` is read once per transaction, so a request on a
    /// connection opened after the first poll would never appear in it.
    private static func waitForAWaiter(_ connection: Connection) throws {
        let deadline = Date().addingTimeInterval(120)
        while try connection.query("""
            SELECT count(*) FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))
            """)[0].decode(0, as: Int.self) == 0 {
            guard Date() < deadline else { throw TestHTTPClient.Failure(description: "no request waited on the held lock") }
            usleep(5_000)
        }
    }
}
