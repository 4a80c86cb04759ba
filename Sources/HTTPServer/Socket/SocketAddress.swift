#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// `accept4(2)` (accept with O_NONBLOCK and O_CLOEXEC in one call), which Glibc's Swift overlay
/// does not export; resolved once from libc.
enum Accept4 {
    typealias Function = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32

    static let function: Function? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "accept4") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
    }()

    /// Accepts a connection as a non-blocking, close-on-exec descriptor.
    static func accept(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int32 {
        if let function {
            return function(fd, address, length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        }
        let client = Glibc.accept(fd, address, length)
        if client >= 0 {
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        }
        return client
    }
}
