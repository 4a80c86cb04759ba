import Glibc
import Logging
import Synchronization
import Testing
@testable import App

/// `popi serve`'s log handler writes the bytes swift-log's `StreamLogHandler` writes, and formats
/// the time once a second, not once a line.
@Suite struct StandardErrorLogHandlerTests {
    private struct ThrowingError: Error, CustomStringConvertible {
        var description: String { "it failed" }
    }

    /// What `StreamLogHandler` writes, captured.
    private final class Captured: TextOutputStream, @unchecked Sendable {
        var text = ""
        func write(_ string: String) { text += string }
    }

    /// The lines the handler writes through a pipe for `events`, at `second`.
    private static func lines(label: String, handlerMetadata: Logger.Metadata, second: time_t,
                              _ events: [LogEvent]) throws -> [String] {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]) }
        var handler = StandardErrorLogHandler(label: label, metadataProvider: nil,
                                              output: LogOutput(fd: ends[1], clock: LogClock(now: { second })))
        handler.metadata = handlerMetadata
        for event in events { handler.log(event: event) }
        close(ends[1])
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let n = read(ends[0], &buffer, buffer.count), n > 0 { bytes += buffer[..<n] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func writesTheLinesOfStreamLogHandler() throws {
        let events = [
            LogEvent(level: .info, message: "request", metadata: [
                "request_id": "0123456789ab-000000000001", "method": "GET", "route": "/v1/models",
                "status": "200", "duration_ms": "0.1",
            ], source: "App", file: #fileID, function: #function, line: #line),
            LogEvent(level: .notice, message: "no metadata", metadata: nil, source: "HTTPServer",
                     file: #fileID, function: #function, line: #line),
            LogEvent(level: .warning, message: "values of every kind", metadata: [
                "count": .stringConvertible(42), "list": ["a", "b"], "map": ["k": "v"], "text": "a b=c",
            ], source: "App", file: #fileID, function: #function, line: #line),
            LogEvent(level: .error, message: "failed", error: ThrowingError(), metadata: ["step": "load"], source: "App",
                     file: #fileID, function: #function, line: #line),
        ]
        for (label, handlerMetadata) in [("popi", Logger.Metadata()), ("", ["replica": "a", "step": "overridden"])] {
            let second = time(nil)
            let ours = try Self.lines(label: label, handlerMetadata: handlerMetadata, second: second, events)
            let captured = Captured()
            var stream = StreamLogHandler(label: label, stream: captured, metadataProvider: nil)
            stream.metadata = handlerMetadata
            for event in events { stream.log(event: event) }
            let theirs = captured.text.split(separator: "\n").map(String.init)
            #expect(ours.count == events.count)
            let timestamp = String(decoding: LogClock.format(second), as: UTF8.self)
            for (mine, stream) in zip(ours, theirs) {
                // The stream handler reads the clock itself: compare the time apart.
                #expect(mine.hasPrefix(timestamp + " "), "\(mine)")
                #expect(mine.drop { $0 != " " } == stream.drop { $0 != " " }, "\(mine)\n\(stream)")
            }
        }
    }

    @Test func theTimeIsFormattedOnceASecond() {
        let now = Mutex<time_t>(1_700_000_000)
        let clock = LogClock(now: { now.withLock { $0 } })
        var line: [UInt8] = []
        for _ in 0..<1000 { clock.appendTimestamp(to: &line) }
        #expect(clock.formatCount == 1)
        now.withLock { $0 += 1 }
        clock.appendTimestamp(to: &line)
        #expect(clock.formatCount == 2)
        // StreamLogHandler's format: local time with the UTC offset.
        let text = String(decoding: LogClock.format(1_700_000_000), as: UTF8.self)
        #expect(text.count == 24 && text.contains("T"), "\(text)")
    }
}
