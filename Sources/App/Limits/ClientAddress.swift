import Glibc

/// Who a per-client limit counts against, from a peer address as the server writes it
/// (`203.0.113.7:51234`, `[2001:db8::1]:51234`): the IPv4 address, or the /64 network of an
/// IPv6 address, since a single host commonly holds a whole /64 and could otherwise step
/// through it. The port never counts: a client opens connections from many.
enum ClientAddress {
    /// The limit key of `peer`; nil when it is not an address (a limit then does not apply).
    static func limitKey(_ peer: String) -> String? {
        let host: Substring
        if peer.hasPrefix("[") {
            guard let close = peer.firstIndex(of: "]") else { return nil }
            host = peer[peer.index(after: peer.startIndex)..<close]
        } else {
            host = peer.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]
        }
        var v4 = in_addr()
        if inet_pton(AF_INET, String(host), &v4) == 1 { return String(host) }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, String(host), &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        // An IPv4 client of a dual-stack socket (::ffff:a.b.c.d) counts as that IPv4 address.
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let network = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return network.joined(separator: ":") + "::/64"
    }
}
