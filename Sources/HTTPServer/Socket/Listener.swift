import Glibc

/// Listening sockets for a host and port: every address the host resolves to (IPv4 and IPv6),
/// non-blocking, `SO_REUSEADDR`, the given backlog. Port 0 picks one free port for all of them.
struct Listener {
    let descriptors: [Int32]
    let port: Int
    let addresses: [String]

    static func open(host: String, port: Int, backlog: Int) throws(SocketError) -> Listener {
        guard (0...65535).contains(port) else { throw SocketError("port \(port) is out of range", errno: EINVAL) }
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host.isEmpty ? nil : host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw SocketError("resolve \(host): \(String(cString: gai_strerror(rc)))", errno: EINVAL)
        }
        defer { freeaddrinfo(list) }
        var candidates: [UnsafeMutablePointer<addrinfo>] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if entry.pointee.ai_family == AF_INET || entry.pointee.ai_family == AF_INET6 { candidates.append(entry) }
            cursor = entry.pointee.ai_next
        }
        var descriptors: [Int32] = []
        var addresses: [String] = []
        var boundPort = port
        do {
            for entry in candidates {
                let family = entry.pointee.ai_family
                let fd = try Syscall.call("socket", { socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) })
                descriptors.append(fd)
                try Syscall.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
                if family == AF_INET6 {
                    // With several addresses each family gets its own socket; a lone "::" stays dual-stack.
                    try Syscall.setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, candidates.count > 1 ? 1 : 0)
                }
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(start: entry.pointee.ai_addr, count: Int(entry.pointee.ai_addrlen)))
                }
                withUnsafeMutablePointer(to: &storage) { p in
                    p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port = UInt16(boundPort).bigEndian }
                }
                let length = entry.pointee.ai_addrlen
                _ = try Syscall.call("bind \(host):\(boundPort)", {
                    withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
                })
                _ = try Syscall.call("listen", { listen(fd, Int32(clamping: backlog)) })
                var actual = sockaddr_storage()
                var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                _ = try Syscall.call("getsockname", {
                    withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) } }
                })
                boundPort = SocketAddress.port(&actual)
                addresses.append(SocketAddress.describe(&actual) ?? "?")
            }
        } catch {
            descriptors.forEach(Syscall.close)
            throw error
        }
        guard !descriptors.isEmpty else { throw SocketError("no IPv4 or IPv6 address for \(host)", errno: EADDRNOTAVAIL) }
        return Listener(descriptors: descriptors, port: boundPort, addresses: addresses)
    }
}
