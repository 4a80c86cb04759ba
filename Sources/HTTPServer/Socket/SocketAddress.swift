import Glibc

/// Formatting of IPv4 / IPv6 socket addresses.
enum SocketAddress {
    /// `1.2.3.4:80` or `[::1]:80`.
    static func describe(_ address: inout sockaddr_storage) -> String? {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = Int32(address.ss_family)
        return withUnsafePointer(to: &address) { pointer -> String? in
            let raw = UnsafeRawPointer(pointer)
            let host: String
            switch family {
            case AF_INET:
                guard inet_ntop(AF_INET, raw + MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!, &text, socklen_t(text.count)) != nil else { return nil }
                host = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                return "\(host):\(port(raw))"
            case AF_INET6:
                guard inet_ntop(AF_INET6, raw + MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!, &text, socklen_t(text.count)) != nil else { return nil }
                host = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                return "[\(host)]:\(port(raw))"
            default:
                return nil
            }
        }
    }

    static func port(_ address: inout sockaddr_storage) -> Int {
        withUnsafePointer(to: &address) { port(UnsafeRawPointer($0)) }
    }

    /// sin_port and sin6_port sit at the same offset.
    private static func port(_ raw: UnsafeRawPointer) -> Int {
        Int(UInt16(bigEndian: raw.load(fromByteOffset: MemoryLayout<sockaddr_in>.offset(of: \.sin_port)!, as: UInt16.self)))
    }
}
