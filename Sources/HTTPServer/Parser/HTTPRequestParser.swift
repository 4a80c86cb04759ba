/// Incremental HTTP/1.1 request parser: a pure state machine, bytes in, events out (RFC 9112 framing,
/// RFC 9110 semantics). It owns no I/O and no clock, so it can be fed one byte at a time or a
/// whole pipeline of requests at once and gives the same events.
///
/// Use: call `parse(buffer, from:)` repeatedly, advancing by `consumed`, until it returns a nil
/// event (it needs more bytes). `.body` ranges point into the buffer just passed. After `.end`
/// the parser is ready for the next pipelined request; after `.error` it stays failed.
public struct HTTPRequestParser: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Longest request line (method, target, version) before 414.
        public var maxRequestLineBytes: Int
        /// Largest header section (and, separately, trailer section) before 431.
        public var maxHeaderBytes: Int
        /// Most header (or trailer) fields before 431.
        public var maxHeaderCount: Int
        /// Largest body before 413: checked against Content-Length up front, or while reading chunks.
        public var maxBodyBytes: Int

        public init(maxRequestLineBytes: Int = 8192, maxHeaderBytes: Int = 32768,
                    maxHeaderCount: Int = 100, maxBodyBytes: Int = 1 << 20) {
            self.maxRequestLineBytes = maxRequestLineBytes
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxBodyBytes = maxBodyBytes
        }
    }

    public enum Event: Sendable, Equatable {
        case head(RequestHead)
        /// Body bytes: a range of the buffer passed to this `parse` call.
        case body(Range<Int>)
        /// The message is complete; chunked requests may carry trailer fields.
        case end(trailers: HTTPHeaders)
        case error(HTTPParseError)
    }

    private enum State: Sendable {
        case start                          // before the request line; empty lines are skipped
        case startLF                        // CR of an empty leading line seen
        case method
        case target
        case version
        case requestLineLF                  // CR after the version seen
        case fieldStart                     // start of a field line, or of the empty line ending the section
        case fieldName
        case fieldValue
        case fieldLF                        // CR at the end of a field line seen
        case sectionEndLF                   // CR of the empty line seen
        case fixedBody(remaining: Int)
        case chunkSizeLine
        case chunkSizeLineLF
        case chunkData(remaining: Int)
        case chunkDataCR
        case chunkDataLF
        case messageEnd                     // complete; `.end` not emitted yet
        case failed(HTTPParseError)
    }

    /// Longer than any registered method (the longest has 17 bytes): answered 501, since no route
    /// can have it, and it bounds what a method may store.
    private static let maxMethodBytes = 32
    private static let maxChunkLineBytes = 4096

    public let limits: Limits
    private var state: State = .start
    private var inTrailers = false
    /// Bytes of the current head: the request line, then each field's name and value.
    private var storage: [UInt8] = []
    private var methodEnd = 0
    private var targetEnd = 0
    private var fieldRanges: [(name: Range<Int>, value: Range<Int>)] = []
    private var nameStart = 0
    private var valueStart = 0
    private var sectionBytes = 0
    private var bodyBytes = 0
    private var chunkLine: [UInt8] = []
    private var version = HTTPVersion.http1_1

    public init(limits: Limits = Limits()) {
        self.limits = limits
        storage.reserveCapacity(256)
    }

    /// True between messages: no byte of a next request has been seen.
    public var isIdle: Bool {
        if case .start = state { return true }
        return false
    }

    public mutating func parse(_ buffer: UnsafeRawBufferPointer, from offset: Int) -> (consumed: Int, event: Event?) {
        var i = offset
        let n = buffer.count
        while true {
            switch state {
            case .failed(let error):
                return (i - offset, .error(error))
            case .messageEnd:
                let trailers = inTrailers ? buildFields() : HTTPHeaders()
                resetForNextMessage()
                return (i - offset, .end(trailers: trailers))
            case .fixedBody(let remaining):
                guard i < n else { return (i - offset, nil) }
                let take = min(remaining, n - i)
                state = remaining == take ? .messageEnd : .fixedBody(remaining: remaining - take)
                return (i + take - offset, .body(i..<(i + take)))
            case .chunkData(let remaining):
                guard i < n else { return (i - offset, nil) }
                let take = min(remaining, n - i)
                state = remaining == take ? .chunkDataCR : .chunkData(remaining: remaining - take)
                return (i + take - offset, .body(i..<(i + take)))
            default:
                break
            }
            guard i < n else { return (i - offset, nil) }
            let byte = buffer[i]
            i += 1
            switch state {
            case .start:
                if byte == CR { state = .startLF; continue }
                guard isTokenChar(byte) else { return fail(i, offset, .bad("invalid request line")) }
                storage.append(byte)
                state = .method
            case .startLF:
                guard byte == LF else { return fail(i, offset, .bad("bare CR")) }
                state = .start
            case .method:
                // Scan the rest of the token in one loop; `.start` stored its first byte.
                var j = i - 1
                while buffer[j] != SP {
                    guard isTokenChar(buffer[j]) else { return fail(j + 1, offset, .bad("invalid method")) }
                    j += 1
                    guard storage.count + j - (i - 1) <= Self.maxMethodBytes else { return fail(j, offset, .methodNotImplemented) }
                    if j == n { break }
                }
                storage.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(i - 1)..<j]))
                if j == n { return (n - offset, nil) }
                i = j + 1
                methodEnd = storage.count
                state = .target
            case .target:
                var j = i - 1
                while buffer[j] != SP {
                    let b = buffer[j]
                    guard b > 0x20, b < 0x7F, b != 0x23 else {
                        return fail(j + 1, offset, b == CR || b == LF ? .bad("missing HTTP version") : .bad("invalid request target"))
                    }
                    j += 1
                    // The request line is method SP target SP version: 2 spaces and 8 version bytes to come.
                    if storage.count + j - (i - 1) + 10 > limits.maxRequestLineBytes { return fail(j, offset, .uriTooLong) }
                    if j == n { break }
                }
                storage.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(i - 1)..<j]))
                if j == n { return (n - offset, nil) }
                if storage.count == methodEnd { return fail(j + 1, offset, .bad("empty request target")) }
                i = j + 1
                targetEnd = storage.count
                state = .version
            case .version:
                if byte == CR {
                    guard let parsed = parseVersion() else {
                        return fail(i, offset, .bad("invalid HTTP version"))
                    }
                    guard parsed.major == 1 else { return fail(i, offset, .versionNotSupported) }
                    version = parsed
                    state = .requestLineLF
                    continue
                }
                guard byte > 0x20, byte < 0x7F, storage.count - targetEnd < 8 else {
                    return fail(i, offset, .bad("invalid HTTP version"))
                }
                storage.append(byte)
            case .requestLineLF:
                guard byte == LF else { return fail(i, offset, .bad("bare CR")) }
                sectionBytes = 0
                state = .fieldStart
            case .fieldStart:
                // Each byte of the section is validated, then counted against the limit, in that
                // order, so the verdict never depends on how the input was split.
                if byte == CR {
                    guard countSectionBytes(1) else { return fail(i, offset, .headersTooLarge) }
                    state = .sectionEndLF
                    continue
                }
                if byte == SP || byte == HTAB { return fail(i, offset, .bad("obsolete line folding or leading whitespace")) }
                guard isTokenChar(byte) else { return fail(i, offset, .bad("invalid header name")) }
                guard fieldRanges.count < limits.maxHeaderCount else { return fail(i, offset, .tooManyHeaders) }
                guard countSectionBytes(1) else { return fail(i, offset, .headersTooLarge) }
                nameStart = storage.count
                storage.append(byte)
                state = .fieldName
            case .fieldName:
                let (j, failure) = scanField(buffer, from: i - 1, to: COLON) { b in
                    isTokenChar(b) ? nil : .bad(b == SP || b == HTAB ? "whitespace before colon" : "invalid header name")
                }
                if let failure { return fail(j, offset, failure) }
                if j == n { return (n - offset, nil) }
                guard countSectionBytes(1) else { return fail(j + 1, offset, .headersTooLarge) }
                i = j + 1
                valueStart = storage.count
                state = .fieldValue
            case .fieldValue:
                let (j, failure) = scanField(buffer, from: i - 1, to: CR) { b in
                    b == HTAB || (b >= SP && b != DEL) ? nil : .bad(b == LF ? "bare LF" : "control character in header value")
                }
                if let failure { return fail(j, offset, failure) }
                if j == n { return (n - offset, nil) }
                guard countSectionBytes(1) else { return fail(j + 1, offset, .headersTooLarge) }
                i = j + 1
                fieldRanges.append((name: nameStart..<valueStart, value: trimmedValue(valueStart..<storage.count)))
                state = .fieldLF
            case .fieldLF:
                guard byte == LF else { return fail(i, offset, .bad("bare CR")) }
                guard countSectionBytes(1) else { return fail(i, offset, .headersTooLarge) }
                state = .fieldStart
            case .sectionEndLF:
                guard byte == LF else { return fail(i, offset, .bad("bare CR")) }
                if inTrailers {
                    state = .messageEnd
                    continue
                }
                switch finishHead() {
                case .success(let head):
                    switch head.framing {
                    case .none: state = .messageEnd
                    case .length(let length): state = length == 0 ? .messageEnd : .fixedBody(remaining: length)
                    case .chunked: state = .chunkSizeLine
                    }
                    return (i - offset, .head(head))
                case .failure(let error):
                    return fail(i, offset, error)
                }
            case .chunkSizeLine:
                if byte == CR { state = .chunkSizeLineLF; continue }
                guard chunkLine.count < Self.maxChunkLineBytes else { return fail(i, offset, .bad("chunk line too long")) }
                chunkLine.append(byte)
            case .chunkSizeLineLF:
                guard byte == LF else { return fail(i, offset, .bad("bare CR")) }
                switch chunkSize() {
                case .success(let size):
                    chunkLine.removeAll(keepingCapacity: true)
                    if size == 0 {
                        inTrailers = true
                        storage.removeAll(keepingCapacity: true)
                        fieldRanges.removeAll(keepingCapacity: true)
                        sectionBytes = 0
                        state = .fieldStart
                    } else {
                        bodyBytes += size
                        state = .chunkData(remaining: size)
                    }
                case .failure(let error):
                    return fail(i, offset, error)
                }
            case .chunkDataCR:
                guard byte == CR else { return fail(i, offset, .bad("chunk data longer than its size")) }
                state = .chunkDataLF
            case .chunkDataLF:
                guard byte == LF else { return fail(i, offset, .bad("bare CR")) }
                state = .chunkSizeLine
            case .fixedBody, .chunkData, .messageEnd, .failed:
                preconditionFailure("handled above")
            }
        }
    }

    // MARK: - Head validation

    private mutating func finishHead() -> Result<RequestHead, HTTPParseError> {
        let method = storage.withUnsafeBytes { HTTPMethod(token: UnsafeRawBufferPointer(rebasing: $0[0..<methodEnd])) }
        // CONNECT asks for a tunnel to an authority, not for a resource at a path: a proxy's job.
        guard method != .CONNECT else { return .failure(.methodNotImplemented) }

        var contentLength: Int?
        var contentLengthCount = 0
        var transferCodings: [Substring] = []
        var hasTransferEncoding = false
        var hostCount = 0
        var close = false
        var keepAliveToken = false
        var expectation: String?
        let headers = buildFields()
        for (name, value) in headers.fields {
            switch name.utf8.count {
            case 4 where asciiCaseInsensitiveEqual(name, "host"):
                hostCount += 1
                guard value.utf8.allSatisfy(isHostChar) else { return .failure(.bad("invalid Host")) }
            case 6 where asciiCaseInsensitiveEqual(name, "expect"):
                expectation = value
            case 10 where asciiCaseInsensitiveEqual(name, "connection"):
                for token in value.split(separator: ",") {
                    let t = token.trimmingOWS()
                    if t.lowercasedASCII() == "close" { close = true }
                    if t.lowercasedASCII() == "keep-alive" { keepAliveToken = true }
                }
            case 14 where asciiCaseInsensitiveEqual(name, "content-length"):
                contentLengthCount += 1
                guard !value.isEmpty, value.utf8.allSatisfy({ $0 &- 0x30 < 10 }) else {
                    return .failure(.bad("invalid Content-Length"))
                }
                guard value.utf8.count <= 18, let length = Int(value) else { return .failure(.bodyTooLarge) }
                contentLength = length
            case 17 where asciiCaseInsensitiveEqual(name, "transfer-encoding"):
                hasTransferEncoding = true
                for item in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let coding = item.trimmingOWS()
                    if !coding.isEmpty { transferCodings.append(coding) }
                }
            default:
                break
            }
        }

        let framing: RequestHead.Framing
        if hasTransferEncoding {
            guard version.isAtLeast1_1 else { return .failure(.bad("Transfer-Encoding in an HTTP/1.0 request")) }
            guard contentLengthCount == 0 else { return .failure(.bad("both Content-Length and Transfer-Encoding")) }
            guard !transferCodings.isEmpty else { return .failure(.bad("empty Transfer-Encoding")) }
            for coding in transferCodings where coding.lowercasedASCII() != "chunked" {
                return .failure(.codingNotImplemented)
            }
            guard transferCodings.count == 1 else { return .failure(.bad("chunked applied more than once")) }
            framing = .chunked
        } else if contentLengthCount > 1 {
            return .failure(.bad("more than one Content-Length"))
        } else if let length = contentLength {
            guard length <= limits.maxBodyBytes else { return .failure(.bodyTooLarge) }
            framing = length == 0 ? .none : .length(length)
        } else {
            framing = .none
        }

        if version.isAtLeast1_1 {
            guard hostCount == 1 else { return .failure(.bad(hostCount == 0 ? "missing Host" : "more than one Host")) }
        } else {
            guard hostCount <= 1 else { return .failure(.bad("more than one Host")) }
        }

        var expectsContinue = false
        if let expectation {
            guard asciiCaseInsensitiveEqual(expectation, "100-continue") else { return .failure(.expectationFailed) }
            expectsContinue = version.isAtLeast1_1 && framing != .none
        }

        let target = storage.withUnsafeBytes { String(decoding: $0[methodEnd..<targetEnd], as: UTF8.self) }
        guard let (path, query) = Self.splitTarget(target, method: method) else {
            return .failure(.bad("invalid request target"))
        }
        let keepAlive = version.isAtLeast1_1 ? !close : (keepAliveToken && !close)
        return .success(RequestHead(method: method, target: target, path: path, query: query, version: version,
                                    headers: headers, framing: framing, keepAlive: keepAlive,
                                    expectsContinue: expectsContinue))
    }

    /// Origin-form `/p?q`, absolute-form `http://host/p?q`, or asterisk-form `*` (OPTIONS only).
    static func splitTarget(_ target: String, method: HTTPMethod) -> (path: String, query: String?)? {
        if target == "*" { return method == .OPTIONS ? ("*", nil) : nil }
        var rest = Substring(target)
        if rest.first != "/" {
            let lower = rest.prefix(8).lowercasedASCII()
            let schemeLength: Int
            if lower.hasPrefix("http://") { schemeLength = 7 } else if lower.hasPrefix("https://") { schemeLength = 8 } else { return nil }
            rest = rest.dropFirst(schemeLength)
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            guard authorityEnd > rest.startIndex else { return nil }
            rest = rest[authorityEnd...]
            if rest.isEmpty { return ("/", nil) }
            if rest.first == "?" { return ("/", String(rest.dropFirst())) }
        }
        if let mark = rest.firstIndex(of: "?") {
            return (String(rest[..<mark]), String(rest[rest.index(after: mark)...]))
        }
        return (String(rest), nil)
    }

    private func parseVersion() -> HTTPVersion? {
        storage.withUnsafeBytes { all -> HTTPVersion? in
            let v = UnsafeRawBufferPointer(rebasing: all[targetEnd...])
            guard v.count == 8, v[0] == 0x48, v[1] == 0x54, v[2] == 0x54, v[3] == 0x50, v[4] == 0x2F,
                  v[5] &- 0x30 < 10, v[6] == 0x2E, v[7] &- 0x30 < 10 else { return nil }
            return HTTPVersion(major: Int(v[5] - 0x30), minor: Int(v[7] - 0x30))
        }
    }

    /// `chunk-size [ chunk-ext ]` (RFC 9112 §7.1.1); extensions are validated and ignored.
    private func chunkSize() -> Result<Int, HTTPParseError> {
        var i = 0
        var size = 0
        let line = chunkLine
        // BWS is allowed only before `;` and around `=` of an extension, so a valid line never
        // ends in whitespace: `2 ` (a size and a space, no extension) is not a chunk line.
        if let last = line.last, last == SP || last == HTAB { return .failure(.bad("whitespace at the end of a chunk line")) }
        while i < line.count, let digit = hexValue(line[i]) {
            guard size <= (Int.max >> 4) else { return .failure(.bodyTooLarge) }
            size = size << 4 | digit
            i += 1
        }
        guard i > 0 else { return .failure(.bad("invalid chunk size")) }
        guard size <= limits.maxBodyBytes - bodyBytes else { return .failure(.bodyTooLarge) }
        // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
        func skipBWS() { while i < line.count, line[i] == SP || line[i] == HTAB { i += 1 } }
        func token() -> Bool {
            let start = i
            while i < line.count, isTokenChar(line[i]) { i += 1 }
            return i > start
        }
        while true {
            skipBWS()
            if i == line.count { return .success(size) }
            guard line[i] == SEMICOLON else { return .failure(.bad("invalid chunk extension")) }
            i += 1
            skipBWS()
            guard token() else { return .failure(.bad("invalid chunk extension")) }
            skipBWS()
            guard i < line.count, line[i] == EQUALS else { continue }
            i += 1
            skipBWS()
            if i < line.count, line[i] == DQUOTE {
                i += 1
                var closed = false
                while i < line.count {
                    let b = line[i]
                    if b == DQUOTE { closed = true; i += 1; break }
                    if b == BACKSLASH {
                        i += 1
                        guard i < line.count, line[i] == HTAB || (line[i] >= SP && line[i] != DEL) else {
                            return .failure(.bad("invalid chunk extension"))
                        }
                    } else if !(b == HTAB || (b >= SP && b != DEL)) {
                        return .failure(.bad("invalid chunk extension"))
                    }
                    i += 1
                }
                guard closed else { return .failure(.bad("invalid chunk extension")) }
            } else if !token() {
                return .failure(.bad("invalid chunk extension"))
            }
        }
    }

    // MARK: - Helpers

    private func buildFields() -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.fields.reserveCapacity(fieldRanges.count)
        storage.withUnsafeBytes { bytes in
            for range in fieldRanges {
                headers.fields.append((name: String(decoding: bytes[range.name], as: UTF8.self),
                                       value: String(decoding: bytes[range.value], as: UTF8.self)))
            }
        }
        return headers
    }

    private func trimmedValue(_ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound, upper = range.upperBound
        while lower < upper, storage[lower] == SP || storage[lower] == HTAB { lower += 1 }
        while upper > lower, storage[upper - 1] == SP || storage[upper - 1] == HTAB { upper -= 1 }
        return lower..<upper
    }

    private mutating func resetForNextMessage() {
        state = .start
        inTrailers = false
        storage.removeAll(keepingCapacity: true)
        fieldRanges.removeAll(keepingCapacity: true)
        chunkLine.removeAll(keepingCapacity: true)
        sectionBytes = 0
        bodyBytes = 0
    }

    /// Takes the bytes of a header name or value from `start` up to `end` (or the end of the
    /// buffer): each is validated (`invalid` gives its error), then counted against the section
    /// limit, in that order, and the run is stored. Returns where the scan stopped (at `end`, the
    /// buffer's end, or just past the byte that failed) and the failure.
    @inline(__always)
    private mutating func scanField(_ buffer: UnsafeRawBufferPointer, from start: Int, to end: UInt8,
                                    invalid: (UInt8) -> HTTPParseError?) -> (stop: Int, failure: HTTPParseError?) {
        var j = start
        while j < buffer.count {
            let b = buffer[j]
            if b == end { break }
            if let failure = invalid(b) { return (j + 1, failure) }
            j += 1
            if sectionBytes + (j - start) > limits.maxHeaderBytes { return (j, .headersTooLarge) }
        }
        storage.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start..<j]))
        sectionBytes += j - start
        return (j, nil)
    }

    /// Counts `count` more bytes of the header (or trailer) section; false past the limit.
    private mutating func countSectionBytes(_ count: Int) -> Bool {
        sectionBytes += count
        return sectionBytes <= limits.maxHeaderBytes
    }

    private mutating func fail(_ index: Int, _ offset: Int, _ error: HTTPParseError) -> (consumed: Int, event: Event?) {
        state = .failed(error)
        return (index - offset, .error(error))
    }
}

private let CR: UInt8 = 0x0D
private let LF: UInt8 = 0x0A
private let SP: UInt8 = 0x20
private let HTAB: UInt8 = 0x09
private let DEL: UInt8 = 0x7F
private let COLON: UInt8 = 0x3A
private let SEMICOLON: UInt8 = 0x3B
private let EQUALS: UInt8 = 0x3D
private let DQUOTE: UInt8 = 0x22
private let BACKSLASH: UInt8 = 0x5C

/// tchar (RFC 9110 §5.6.2).
@inline(__always) func isTokenChar(_ b: UInt8) -> Bool {
    switch b {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
    case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
    default: false
    }
}

/// Characters of `uri-host [ ":" port ]`: unreserved, sub-delims, ':', '[', ']' and '%'.
@inline(__always) func isHostChar(_ b: UInt8) -> Bool {
    switch b {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
    case 0x2D, 0x2E, 0x5F, 0x7E, 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x3B, 0x3D, 0x3A, 0x5B, 0x5D, 0x25: true
    default: false
    }
}

@inline(__always) private func hexValue(_ b: UInt8) -> Int? {
    switch b {
    case 0x30...0x39: Int(b - 0x30)
    case 0x41...0x46: Int(b - 0x41 + 10)
    case 0x61...0x66: Int(b - 0x61 + 10)
    default: nil
    }
}

extension StringProtocol {
    func trimmingOWS() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }

    func lowercasedASCII() -> String {
        String(decoding: utf8.map(asciiLower), as: UTF8.self)
    }
}
