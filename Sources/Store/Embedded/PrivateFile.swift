import Foundation
import Glibc

/// Files only their owner may read (the cluster's password): mode 0600 from the moment they exist.
/// Written and then chmod'ed, such a file is readable by everyone for a moment under umask 022.
enum PrivateFile {
    /// Replaces `url` with `text` atomically: a temporary file beside it, created 0600 with O_EXCL
    /// (never an existing file, never through a planted symlink), written, renamed over `url`.
    static func write(_ text: String, to url: URL) throws(EmbeddedPostgresError) {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
        guard fd >= 0 else { throw .fileNotWritten(url.path, errno) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let code = errno
                close(fd)
                throw .fileNotWritten(url.path, code)
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            let code = errno
            close(fd)
            throw .fileNotWritten(url.path, code)
        }
        close(fd)
        guard rename(temporary, url.path) == 0 else { throw .fileNotWritten(url.path, errno) }
        renamed = true
    }
}
