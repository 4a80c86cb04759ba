import Glibc

/// A client's IP address without its port: what the per-address connection limit counts. An IPv6
/// address counts as it is (an IPv4-mapped one is its own address, not the IPv4 one).
struct PeerAddress: Hashable, Sendable {
    private let high: UInt64
    private let low: UInt64
    private let isIPv6: Bool

    /// Nil for families other than IPv4 and IPv6.
    init?(_ address: inout sockaddr_storage) {
        switch Int32(address.ss_family) {
        case AF_INET:
            let ipv4 = withUnsafeBytes(of: &address) { raw in
                raw.loadUnaligned(fromByteOffset: MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!, as: UInt32.self)
            }
            (high, low, isIPv6) = (0, UInt64(ipv4), false)
        case AF_INET6:
            let offset = MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
            (high, low) = withUnsafeBytes(of: &address) { raw in
                (raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self),
                 raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
            }
            isIPv6 = true
        default:
            return nil
        }
    }
}
