/// An incremental parser for `text/event-stream` (the WHATWG server-sent events format).
///
/// Pure state machine: feed it bytes as they arrive, in any split, and it returns the events
/// completed so far. Lines end with CRLF, LF or CR; `data` fields of one event are joined with
/// LF; comments (lines starting with `:`) and unknown fields are ignored; an event is dispatched
/// on a blank line. A line longer than `maxLineBytes`, or an event whose data exceeds
/// `maxEventBytes`, is an error: a stream that never ends a line, or never ends an event with
/// a blank line, would otherwise grow without bound.
public struct SSEParser: Sendable {
    public struct Event: Sendable, Equatable {
        public var event: String?
        public var data: String
        public var id: String?
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case lineTooLong(Int)
        case eventTooLarge(Int)
        public var description: String {
            switch self {
            case .lineTooLong(let limit): return "upstream event stream has a line longer than \(limit) bytes"
            case .eventTooLarge(let limit): return "upstream event stream has an event with more than \(limit) bytes of data"
            }
        }
    }

    public let maxLineBytes: Int
    public let maxEventBytes: Int
    private var line: [UInt8] = []
    private var lastWasCR = false
    private var dataLines: [String] = []
    /// Bytes the pending event's data will have once joined (values plus separating LFs).
    private var eventBytes = 0
    private var hasData = false
    private var eventName: String?
    private var lastID: String?
    private var sawFirstLine = false

    public init(maxLineBytes: Int = 1 << 20, maxEventBytes: Int = 4 << 20) {
        self.maxLineBytes = maxLineBytes
        self.maxEventBytes = maxEventBytes
    }

    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) throws(ParseError) -> [Event] where Bytes.Element == UInt8 {
        var events: [Event] = []
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\n"):
                if lastWasCR {
                    lastWasCR = false  // second half of CRLF: the line already ended
                    continue
                }
                try endLine(into: &events)
            case UInt8(ascii: "\r"):
                lastWasCR = true
                try endLine(into: &events)
            default:
                lastWasCR = false
                guard line.count < maxLineBytes else { throw ParseError.lineTooLong(maxLineBytes) }
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine(into events: inout [Event]) throws(ParseError) {
        defer { line.removeAll(keepingCapacity: true) }
        if !sawFirstLine {
            sawFirstLine = true
            if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }  // optional BOM
        }
        if line.isEmpty {
            if hasData {
                events.append(Event(event: eventName, data: dataLines.joined(separator: "\n"), id: lastID))
            }
            dataLines.removeAll()
            eventBytes = 0
            hasData = false
            eventName = nil
            return
        }
        if line.first == UInt8(ascii: ":") { return }
        let field: [UInt8]
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            field = Array(line[..<colon])
            value = line[(colon + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        } else {
            field = line
            value = []
        }
        let text = String(decoding: value, as: UTF8.self)
        switch String(decoding: field, as: UTF8.self) {
        case "data":
            eventBytes += (hasData ? 1 : 0) + value.count
            guard eventBytes <= maxEventBytes else { throw ParseError.eventTooLarge(maxEventBytes) }
            dataLines.append(text)
            hasData = true
        case "event":
            eventName = text
        case "id":
            if !value.contains(0) { lastID = text }
        default:
            break
        }
    }
}
