import HTTPServer

/// Feeds the input to the parser whole and again cut at positions derived from its first bytes,
/// under tight limits so every limit path is reachable. Crashes (traps, ASan reports) are bugs,
/// and so is any difference between the two event streams: the parser must not care how bytes
/// arrive.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    let step = Int(input[0] % 7) + 1
    let bytes = Array(input.dropFirst())
    let limits = HTTPRequestParser.Limits(maxRequestLineBytes: 96, maxHeaderBytes: 256, maxHeaderCount: 8, maxBodyBytes: 64)
    let whole = events(bytes, cut: bytes.count + 1, limits: limits)
    let pieces = events(bytes, cut: step, limits: limits)
    if whole != pieces {
        fatalError("split-dependent parse: whole \(whole) vs pieces of \(step): \(pieces)")
    }
    return 0
}

enum Summary: Equatable {
    case head(RequestHead)
    case body([UInt8])
    case end(HTTPHeaders)
    case error(Int)
}

/// Parses `bytes` in pieces of `cut` bytes, keeping unconsumed bytes like a connection does, and
/// merges adjacent body events.
func events(_ bytes: [UInt8], cut: Int, limits: HTTPRequestParser.Limits) -> [Summary] {
    var parser = HTTPRequestParser(limits: limits)
    var out: [Summary] = []
    var pending: [UInt8] = []
    var start = 0
    while start < bytes.count || start == 0 {
        let end = min(bytes.count, start + cut)
        pending += bytes[start..<end]
        start = end
        var offset = 0
        while true {
            let (consumed, event) = pending.withUnsafeBytes { parser.parse($0, from: offset) }
            precondition(consumed >= 0 && offset + consumed <= pending.count, "consumed out of range")
            var body: [UInt8] = []
            if case .body(let range)? = event {
                precondition(range.lowerBound >= offset && range.upperBound <= offset + consumed, "body range outside the consumed bytes")
                body = Array(pending[range])
            }
            offset += consumed
            guard let event else { break }
            switch event {
            case .head(let head): out.append(.head(head))
            case .body:
                if case .body(let previous)? = out.last { out[out.count - 1] = .body(previous + body) } else { out.append(.body(body)) }
            case .end(let trailers): out.append(.end(trailers))
            case .error(let error):
                out.append(.error(error.status.code))
                return out
            }
        }
        pending.removeFirst(offset)
        if start >= bytes.count { break }
    }
    return out
}
