import Testing
@testable import LLMClient

@Suite struct SSEParserTests {
    static let stream = Array("""
    : keep-alive comment\r
    data: {"a":1}\r
    \r
    event: update\n\
    data: line one\n\
    data: line two\n\
    id: 7\n\
    \n\
    data:no-space\r\r\
    data: [DONE]\n\n
    """.utf8)

    static let expected: [SSEParser.Event] = [
        .init(event: nil, data: "{\"a\":1}", id: nil),
        .init(event: "update", data: "line one\nline two", id: "7"),
        .init(event: nil, data: "no-space", id: "7"),
        .init(event: nil, data: "[DONE]", id: "7"),
    ]

    @Test func wholeInput() throws {
        var parser = SSEParser()
        #expect(try parser.feed(Self.stream) == Self.expected)
    }

    @Test func oneByteAtATime() throws {
        var parser = SSEParser()
        var events: [SSEParser.Event] = []
        for byte in Self.stream { events += try parser.feed([byte]) }
        #expect(events == Self.expected)
    }

    @Test func everySplitPoint() throws {
        for split in 0...Self.stream.count {
            var parser = SSEParser()
            let events = try parser.feed(Self.stream[..<split]) + parser.feed(Self.stream[split...])
            #expect(events == Self.expected, "split at \(split)")
        }
    }

    @Test func eventWithoutDataIsNotDispatched() throws {
        var parser = SSEParser()
        #expect(try parser.feed(Array("event: ping\n\n".utf8)).isEmpty)
    }

    @Test func unterminatedEventIsHeldBack() throws {
        var parser = SSEParser()
        #expect(try parser.feed(Array("data: partial\n".utf8)).isEmpty)
        #expect(try parser.feed(Array("\n".utf8)) == [.init(event: nil, data: "partial", id: nil)])
    }

    @Test func overlongLineIsAnError() {
        var parser = SSEParser(maxLineBytes: 16)
        #expect(throws: SSEParser.ParseError.lineTooLong(16)) {
            try parser.feed(Array("data: 0123456789abcdef\n".utf8))
        }
    }

    @Test func byteOrderMarkIsSkipped() throws {
        var parser = SSEParser()
        #expect(try parser.feed([0xEF, 0xBB, 0xBF] + Array("data: x\n\n".utf8)) == [.init(event: nil, data: "x", id: nil)])
    }
}
