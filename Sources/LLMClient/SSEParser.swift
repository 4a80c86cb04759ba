/// An incremental parser for `text/event-stream` (the WHATWG server-sent events format).
///
/// Pure state machine: feed it bytes as they arrive, in any split, and it returns the events
/// completed so far. Lines end with CRLF, LF or CR; `data` fields of one event are joined with
/// LF; comments (lines starting with `:`) and unknown fields are ignored; an event is dispatched
/// on a blank line. A line longer than `maxLineBytes` is an error (a stream that never ends a
/// line would otherwise grow without bound).
public struct SSEParser: Sendable {
    public struct Event: Sendable, Equatable {
        public var event: String?
        public var data: String
        public var id: String?
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case lineTooLong(Int)
        public var description: String {
            switch self {
            case .lineTooLong(let limit): return "upstream event stream has a line longer than \(limit) bytes"
            }
        }
    }

    public let maxLineBytes: Int
    private var line: [UInt8] = []
    private var lastWasCR = false
    private var dataLines: [String] = []
    private var hasData = false
    private var eventName: String?
    private var lastID: String?
    private var sawFirstLine = false

    public init(maxLineBytes: Int = 1 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) throws -> [Event] where Bytes.Element == UInt8 {
        var events: [Event] = []
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\n"):
                if lastWasCR {
                    lastWasCR = false  // second half of CRLF: the line already ended
                    continue
                }
                endLine(into: &events)
            case UInt8(ascii: "\r"):
                lastWasCR = true
                endLine(into: &events)
            default:
                lastWasCR = false
                guard line.count < maxLineBytes else { throw ParseError.lineTooLong(maxLineBytes) }
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine(into events: inout [Event]) {
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
