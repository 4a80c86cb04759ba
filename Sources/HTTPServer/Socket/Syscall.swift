import Glibc

/// The one place system calls are made: retries EINTR, turns -1 + errno into `SocketError`.
enum Syscall {
    @inline(__always)
    static func call(_ operation: @autoclosure () -> String, _ body: () -> Int) throws(SocketError) -> Int {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw SocketError(operation(), errno: code)
        }
    }

    @inline(__always)
    static func call(_ operation: @autoclosure () -> String, _ body: () -> Int32) throws(SocketError) -> Int32 {
        Int32(try call(operation(), { Int(body()) }))
    }

    /// Bytes read, 0 at end of stream, nil when nothing is available now.
    @inline(__always)
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int? {
        do {
            return try call("read", { Glibc.read(fd, buffer.baseAddress, buffer.count) })
        } catch where error.kind == .wouldBlock {
            return nil
        }
    }

    /// Bytes written, nil when the socket buffer is full.
    @inline(__always)
    static func write(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) throws(SocketError) -> Int? {
        do {
            return try call("write", { Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) })
        } catch where error.kind == .wouldBlock {
            return nil
        }
    }

    static func close(_ fd: Int32) {
        // Linux closes the descriptor even when close(2) reports EINTR: never retry.
        _ = Glibc.close(fd)
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SocketError) {
        var value = value
        _ = try call("setsockopt", { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) })
    }
}
