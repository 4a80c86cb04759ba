import COpenSSL
import Glibc

/// One server-side TLS session over a connected non-blocking socket (OpenSSL `SSL` with the
/// descriptor attached). Not thread-safe: used from the connection's queue only.
public final class TLSSession {
    /// What one read or write did.
    public enum Outcome: Equatable {
        case bytes(Int)
        /// Try again once the socket is readable (TLS may need to read while writing, too).
        case wantsRead
        /// Try again once the socket is writable (TLS may need to write while reading, too).
        case wantsWrite
        case closed
        case failed(String)
    }

    private let ssl: OpaquePointer

    public init?(context: TLSContext, fd: Int32) {
        guard let ssl = SSL_new(context.context) else { return nil }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
    }

    deinit { SSL_free(ssl) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Outcome {
        ERR_clear_error()
        let n = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        return n > 0 ? .bytes(Int(n)) : outcome(n)
    }

    public func write(_ buffer: UnsafeRawBufferPointer) -> Outcome {
        ERR_clear_error()
        let n = SSL_write(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        return n > 0 ? .bytes(Int(n)) : outcome(n)
    }

    /// Sends close_notify (best effort: the peer may be gone).
    public func shutdown() {
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
    }

    private func outcome(_ result: Int32) -> Outcome {
        let code = errno
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wantsRead
        case SSL_ERROR_WANT_WRITE: return .wantsWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            return code == 0 || code == ECONNRESET || code == EPIPE ? .closed : .failed("TLS: \(String(cString: strerror(code)))")
        default:
            return .failed("TLS: \(TLSContext.lastError())")
        }
    }
}
