import Foundation
import Glibc
import Testing
@testable import Store

/// The password files of the embedded cluster are never readable by others, not even for a moment.
@Suite struct PrivateFileTests {
    /// Under a permissive umask (022), the file is 0600 and nothing changed its mode after it was
    /// created (the kernel reports every chmod as IN_ATTRIB): so it was 0600 from its creation.
    @Test func aPasswordFileIsCreated0600AndNeverChmodded() throws {
        let directory = URL(fileURLWithPath: "/tmp/popi-private-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("pg-password")

        let watch = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        try #require(watch >= 0)
        defer { close(watch) }
        try #require(inotify_add_watch(watch, directory.path, UInt32(IN_ATTRIB | IN_CREATE | IN_MOVED_TO)) >= 0)

        let previous = umask(0o022)
        defer { umask(previous) }
        try PrivateFile.write("secret\n", to: file)

        let events = Self.events(watch)
        #expect(events.contains { $0.mask & UInt32(IN_CREATE) != 0 }, "the watch saw the file being made: \(events)")
        let chmodded = events.filter { $0.mask & UInt32(IN_ATTRIB) != 0 }
        #expect(chmodded.isEmpty, "a file's mode changed after its creation: \(chmodded)")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int)
        #expect(mode == 0o600, "mode \(String(mode, radix: 8))")
        #expect(try String(contentsOf: file, encoding: .utf8) == "secret\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["pg-password"], "no temporary file left")
    }

    @Test func aSecondWriteReplacesTheFileAndStaysPrivate() throws {
        let directory = URL(fileURLWithPath: "/tmp/popi-private-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("pwfile")
        try PrivateFile.write("one\n", to: file)
        try PrivateFile.write("two\n", to: file)
        #expect(try String(contentsOf: file, encoding: .utf8) == "two\n")
        #expect(try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int == 0o600)
        #expect(throws: EmbeddedPostgresError.self) { try PrivateFile.write("x", to: directory.appendingPathComponent("missing/pw")) }
    }

    /// The events queued on an inotify descriptor: mask and file name.
    static func events(_ fd: Int32) -> [(mask: UInt32, name: String)] {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return [] }
        var events: [(UInt32, String)] = []
        var offset = 0
        let header = MemoryLayout<inotify_event>.size
        while offset + header <= count {
            let (mask, length) = buffer.withUnsafeBytes { raw -> (UInt32, Int) in
                let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                return (event.mask, Int(event.len))
            }
            let nameBytes = buffer[(offset + header)..<(offset + header + length)].prefix { $0 != 0 }
            events.append((mask, String(decoding: nameBytes, as: UTF8.self)))
            offset += header + length
        }
        return events
    }
}
