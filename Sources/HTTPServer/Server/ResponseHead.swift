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
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(status.code, to: &out)
        out.append(0x20)
        out.append(contentsOf: status.reason.utf8)
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
        if status.code >= 200 && status.code != 204 && status.code != 304 {
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

    static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
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
