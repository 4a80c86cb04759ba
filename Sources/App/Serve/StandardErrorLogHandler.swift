import Glibc
import Logging
import Synchronization

/// `popi serve`'s log lines: the bytes swift-log's `StreamLogHandler` writes
/// (`<time> <level> <label>: <key=value …> [<source>] <message>`), on standard error, one
/// write(2) per line.
///
/// Why not `StreamLogHandler` itself: the access log writes a line per request, and it formats the
/// local time with strftime on every line (glibc then stats /etc/localtime each time) and joins
/// metadata through intermediate strings. This one formats the time once a second and builds the
/// line in one buffer.
struct StandardErrorLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadataProvider: Logger.MetadataProvider?
    var metadata = Logger.Metadata()
    private let label: String
    private let output: LogOutput

    init(label: String, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider,
         output: LogOutput = .standardError) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.output = output
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(256)
        output.clock.appendTimestamp(to: &line)
        line.append(0x20)
        line.append(contentsOf: event.level.rawValue.utf8)
        if !label.isEmpty { line.append(0x20) }
        line.append(contentsOf: label.utf8)
        line.append(0x3A)
        appendMetadata(of: event, to: &line)
        line.append(contentsOf: " [".utf8)
        line.append(contentsOf: event.source.utf8)
        line.append(contentsOf: "] ".utf8)
        line.append(contentsOf: event.message.description.utf8)
        line.append(0x0A)
        output.write(line)
    }

    /// ` key=value` for each key in order, the way `StreamLogHandler` merges them: the handler's
    /// own, then the provider's, then the event's, then the error.
    private func appendMetadata(of event: LogEvent, to line: inout [UInt8]) {
        let provided = metadataProvider?.get() ?? [:]
        var merged: Logger.Metadata
        if metadata.isEmpty && provided.isEmpty && event.error == nil {
            // The access log's case: only the event's own metadata, used as it is.
            merged = event.metadata ?? [:]
        } else {
            merged = metadata
            merged.merge(provided) { _, provided in provided }
            merged.merge(event.metadata ?? [:]) { _, explicit in explicit }
            if let error = event.error {
                merged["error.message"] = "\(error)"
                merged["error.type"] = "\(String(reflecting: type(of: error)))"
            }
        }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line.append(0x20)
            line.append(contentsOf: key.utf8)
            line.append(0x3D)
            if case .string(let text) = value {
                line.append(contentsOf: text.utf8)
            } else {
                line.append(contentsOf: "\(value)".utf8)
            }
        }
    }
}

/// Where `StandardErrorLogHandler` writes, and the clock of its timestamps. Each line goes out in
/// one write(2), which the kernel keeps whole (a regular file's offset is locked per write, a pipe
/// writes up to PIPE_BUF bytes at once), so concurrent loggers need no lock of their own.
final class LogOutput: Sendable {
    static let standardError = LogOutput(fd: 2, clock: LogClock())

    let clock: LogClock
    private let fd: Int32

    init(fd: Int32, clock: LogClock) {
        self.fd = fd
        self.clock = clock
    }

    func write(_ line: [UInt8]) {
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 && errno == EINTR { continue }
                // A log line that cannot be written is dropped, as stdio would.
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

/// Local time as `StreamLogHandler` prints it (`2026-01-31T09:15:00+0100`), formatted at most
/// once per second of `now`.
final class LogClock: Sendable {
    private let now: @Sendable () -> time_t
    private let cache = Mutex<(second: time_t, text: [UInt8])>((-1, []))
    /// How many times the text was formatted (tests).
    private let formats = Atomic<Int>(0)

    init(now: @escaping @Sendable () -> time_t = { time(nil) }) {
        self.now = now
    }

    var formatCount: Int { formats.load(ordering: .relaxed) }

    func appendTimestamp(to line: inout [UInt8]) {
        let second = now()
        let text = cache.withLock { cache -> [UInt8] in
            if cache.second != second {
                cache = (second, Self.format(second))
                formats.add(1, ordering: .relaxed)
            }
            return cache.text
        }
        line.append(contentsOf: text)
    }

    static func format(_ second: time_t) -> [UInt8] {
        var t = second
        var parts = tm()
        guard localtime_r(&t, &parts) != nil else { return Array("<unknown>".utf8) }
        var buffer = [Int8](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return buffer[..<count].map { UInt8(bitPattern: $0) }
    }
}
