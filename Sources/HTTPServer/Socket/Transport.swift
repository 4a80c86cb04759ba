import Crypto
import Glibc

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
    case tls(TLSSession)

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        switch self {
        case .plain(let fd):
            do {
                guard let n = try Syscall.read(fd, buffer) else { return .wouldBlock(wantsWritable: false) }
                return n == 0 ? .closed : .bytes(n)
            } catch {
                return error.kind == .disconnected ? .closed : .failed(error.description)
            }
        case .tls(let session):
            return IOResult(session.read(into: buffer))
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
        case .tls(let session):
            return IOResult(session.write(buffer))
        }
    }

    var isPlain: Bool {
        if case .plain = self { return true }
        return false
    }

    func closeNotify() {
        if case .tls(let session) = self { session.shutdown() }
    }
}

extension IOResult {
    init(_ outcome: TLSSession.Outcome) {
        switch outcome {
        case .bytes(let count): self = .bytes(count)
        case .wantsRead: self = .wouldBlock(wantsWritable: false)
        case .wantsWrite: self = .wouldBlock(wantsWritable: true)
        case .closed: self = .closed
        case .failed(let message): self = .failed(message)
        }
    }
}
