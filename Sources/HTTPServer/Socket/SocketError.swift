import Glibc

/// A failed system call, with its errno mapped to the cases the server acts on.
public struct SocketError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case wouldBlock
        /// The peer is gone (reset, broken pipe, …).
        case disconnected
        case addressInUse
        case addressNotAvailable
        case permissionDenied
        /// Out of file descriptors or socket buffers.
        case resourceExhausted
        case invalidAddress
        case other
    }

    public let operation: String
    public let errno: Int32
    public let kind: Kind

    public init(_ operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINPROGRESS: kind = .wouldBlock
        case ECONNRESET, EPIPE, ECONNABORTED, ENOTCONN, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ENETDOWN: kind = .disconnected
        case EADDRINUSE: kind = .addressInUse
        case EADDRNOTAVAIL: kind = .addressNotAvailable
        case EACCES, EPERM: kind = .permissionDenied
        case EMFILE, ENFILE, ENOBUFS, ENOMEM: kind = .resourceExhausted
        case EINVAL, EAFNOSUPPORT: kind = .invalidAddress
        default: kind = .other
        }
    }

    public var description: String { "\(operation): \(String(cString: strerror(errno)))" }
}
