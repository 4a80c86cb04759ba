import COpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Result of one non-blocking read or write on a connection.
enum IOResult {
    case bytes(Int)
    /// Try again when the socket is readable (`wantsWritable` false) or writable (true). TLS may
    /// need to write while reading, or read while writing.
    case wouldBlock(wantsWritable: Bool)
    case closed
    case failed(String)
}

/// Plain TCP or TLS over a connected non-blocking socket. Used only on the connection's queue.
enum Transport {
    case plain(Int32)
    case tls(TLSStream)

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        switch self {
        case .plain(let fd):
            do {
                guard let n = try Syscall.read(fd, buffer) else { return .wouldBlock(wantsWritable: false) }
                return n == 0 ? .closed : .bytes(n)
            } catch {
                return error.kind == .disconnected ? .closed : .failed(error.description)
            }
        case .tls(let stream):
            return stream.read(into: buffer)
        }
    }

    mutating func write(_ buffer: UnsafeRawBufferPointer) -> IOResult {
        switch self {
        case .plain(let fd):
            do {
                guard let n = try Syscall.write(fd, buffer) else { return .wouldBlock(wantsWritable: true) }
                return .bytes(n)
            } catch {
                return error.kind == .disconnected ? .closed : .failed(error.description)
            }
        case .tls(let stream):
            return stream.write(buffer)
        }
    }

    var isPlain: Bool {
        if case .plain = self { return true }
        return false
    }

    func closeNotify() {
        if case .tls(let stream) = self { stream.shutdown() }
    }
}

/// One TLS session over a socket (OpenSSL `SSL` with the descriptor attached).
final class TLSStream {
    private let ssl: OpaquePointer

    init?(context: TLSContext, fd: Int32) {
        guard let ssl = SSL_new(context.context) else { return nil }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
    }

    deinit { SSL_free(ssl) }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        ERR_clear_error()
        let n = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        return n > 0 ? .bytes(Int(n)) : outcome(n)
    }

    func write(_ buffer: UnsafeRawBufferPointer) -> IOResult {
        ERR_clear_error()
        let n = SSL_write(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        return n > 0 ? .bytes(Int(n)) : outcome(n)
    }

    func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
    }

    private func outcome(_ result: Int32) -> IOResult {
        let code = errno
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wouldBlock(wantsWritable: false)
        case SSL_ERROR_WANT_WRITE: return .wouldBlock(wantsWritable: true)
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            return code == 0 || code == ECONNRESET || code == EPIPE ? .closed : .failed("TLS: \(String(cString: strerror(code)))")
        default:
            return .failed("TLS: \(TLSContext.lastError())")
        }
    }
}
