/// Serializes a response head. The server owns `Date`, framing and `Connection`; handler headers
/// with those names are dropped, and so are fields whose name or value could split the response.
enum ResponseHead {
    enum Framing {
        case length(Int)
        case chunked
        /// HTTP/1.0 streaming: the body ends when the connection closes.
        case untilClose
    }

    static func append(status: HTTPStatus, headers: HTTPHeaders, framing: Framing, close: Bool,
                       keepAliveHeader: Bool, date: inout HTTPDate, to out: inout [UInt8]) {
        // A handler's odd status or a reason with line breaks must not corrupt the response.
        let valid = (100...999).contains(status.code)
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(valid ? status.code : 500, to: &out)
        out.append(0x20)
        if valid {
            for byte in status.reason.utf8 where byte == 0x09 || (byte >= 0x20 && byte != 0x7F) { out.append(byte) }
        } else {
            out.append(contentsOf: "Internal Server Error".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        for field in headers.fields where isAllowed(field.name, field.value) {
            out.append(contentsOf: field.name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: field.value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: "Date: ".utf8)
        date.append(to: &out)
        out.append(contentsOf: "\r\n".utf8)
        if status.allowsBody {
            switch framing {
            case .length(let length):
                out.append(contentsOf: "Content-Length: ".utf8)
                appendDecimal(length, to: &out)
                out.append(contentsOf: "\r\n".utf8)
            case .chunked:
                out.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
            case .untilClose:
                break
            }
        }
        if close {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        } else if keepAliveHeader {
            out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
    }

    /// Appends a non-negative integer in decimal.
    /// A whole error response (head and JSON body) that closes the connection.
    static func appendClosing(_ error: HTTPError, date: inout HTTPDate, to out: inout [UInt8]) {
        let response = error.response
        guard case .bytes(let body) = response.body else { return }
        append(status: response.status, headers: response.headers, framing: .length(body.count),
               close: true, keepAliveHeader: false, date: &date, to: &out)
        out.append(contentsOf: body)
    }

    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        let value = max(0, value)
        if value < 10 {
            out.append(UInt8(0x30 + value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 {
                d[19 - count] = UInt8(0x30 + v % 10)
                v /= 10
                count += 1
            }
            out.append(contentsOf: d[(20 - count)...])
        }
    }

    static func appendHex(_ value: Int, to out: inout [UInt8]) {
        let hex = "0123456789abcdef".utf8
        var shift = (Int.bitWidth - value.leadingZeroBitCount + 3) / 4 * 4 - 4
        if shift < 0 { shift = 0 }
        while shift >= 0 {
            out.append(hex[hex.index(hex.startIndex, offsetBy: (value >> shift) & 15)])
            shift -= 4
        }
    }

    /// The connection writes these itself.
    private static func isAllowed(_ name: String, _ value: String) -> Bool {
        let n = name.utf8
        switch n.count {
        case 4: if asciiCaseInsensitiveEqual(name, "date") { return false }
        case 10: if asciiCaseInsensitiveEqual(name, "connection") { return false }
        case 14: if asciiCaseInsensitiveEqual(name, "content-length") { return false }
        case 17: if asciiCaseInsensitiveEqual(name, "transfer-encoding") { return false }
        case 0: return false
        default: break
        }
        return n.allSatisfy(isTokenChar) && value.utf8.allSatisfy { $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }
    }
}
