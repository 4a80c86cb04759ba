/// One server-sent event (the `text/event-stream` format of the HTML standard).
public struct ServerSentEvent: Sendable, Equatable {
    public var event: String?
    public var data: String
    public var id: String?
    /// Reconnection time for the client, in milliseconds.
    public var retry: Int?

    public init(data: String, event: String? = nil, id: String? = nil, retry: Int? = nil) {
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
    }

    /// The wire form: each line of `data` as its own `data:` field, then an empty line. Line
    /// breaks in `event` and `id` would start new fields, so they are dropped.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.utf8.count + 16)
        if let event { Self.field("event", Self.singleLine(event), &out) }
        if let id { Self.field("id", Self.singleLine(id), &out) }
        if let retry { Self.field("retry", String(retry), &out) }
        var line: [UInt8] = []
        var previousCR = false
        for byte in data.utf8 {
            if byte == 0x0A && previousCR { previousCR = false; continue }
            previousCR = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                Self.field("data", line, &out)
                line.removeAll(keepingCapacity: true)
            } else {
                line.append(byte)
            }
        }
        Self.field("data", line, &out)
        out.append(0x0A)
        return out
    }

    private static func singleLine(_ text: String) -> String {
        String(decoding: text.utf8.filter { $0 != 0x0A && $0 != 0x0D }, as: UTF8.self)
    }

    private static func field(_ name: String, _ value: String, _ out: inout [UInt8]) {
        field(name, Array(value.utf8), &out)
    }

    private static func field(_ name: String, _ value: [UInt8], _ out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: ": ".utf8)
        out.append(contentsOf: value)
        out.append(0x0A)
    }
}

/// Sends server-sent events; each `send` goes to the client at once (one chunk per event).
public struct ServerSentEventWriter: Sendable {
    let writer: any ResponseBodyWriter

    public func send(_ event: ServerSentEvent) async throws {
        try await writer.write(event.bytes)
    }

    public func send(data: String, event: String? = nil, id: String? = nil) async throws {
        try await send(ServerSentEvent(data: data, event: event, id: id))
    }

    /// A comment line: keeps idle proxies from closing the stream.
    public func comment(_ text: String = "") async throws {
        try await writer.write(Array((": " + text.filter { $0 != "\n" && $0 != "\r" } + "\n\n").utf8))
    }
}

extension Response {
    /// A `text/event-stream` response whose events `body` sends. It ends when `body` returns; if
    /// `body` throws, the connection is cut (send an error event first to tell the client why).
    public static func eventStream(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(),
                                   _ body: @escaping @Sendable (ServerSentEventWriter) async throws -> Void) -> Response {
        var headers = headers
        headers.set("Content-Type", "text/event-stream")
        headers.set("Cache-Control", "no-cache")
        return Response(status: status, headers: headers, body: .stream { writer in
            try await body(ServerSentEventWriter(writer: writer))
        })
    }
}
