import Glibc
import Store

/// Whether an address stays on this machine: what `popi serve --dev` asks of `--host` and of
/// the database. Decided on the parsed address, never on how its text begins (`127.evil.com`
/// is a name like any other).
enum LocalAddress {
    /// `localhost`, an IPv4 address in 127.0.0.0/8, or `::1` (also as `::ffff:127.x.y.z`).
    static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, host, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127
    }

    /// Whether every host a connection string names is a unix socket or loopback. A string
    /// that names none uses `PGHOSTADDR` / `PGHOST` from `environment`, else libpq's local socket;
    /// one that defers to a pg_service.conf entry is not known to be local.
    static func isLocal(_ database: DatabaseConfiguration, environment: [String: String]) -> Bool {
        guard var hosts = database.hosts else { return false }
        if hosts.isEmpty {
            let fallback = [environment["PGHOSTADDR"], environment["PGHOST"]].compactMap { $0 }.first { !$0.isEmpty }
            hosts = fallback.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? [""]
        }
        // An empty entry is libpq's default: the local socket.
        return hosts.allSatisfy { $0.isEmpty || $0.hasPrefix("/") || $0.hasPrefix("@") || isLoopback($0) }
    }
}
