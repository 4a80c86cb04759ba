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

    /// Data lines that never meet a blank line: each line is short, the event is not.
    @Test func eventLargerThanTheLimitIsAnErrorFedByteByByte() throws {
        var parser = SSEParser(maxLineBytes: 64, maxEventBytes: 20)
        // "0123456789" + LF + "0123456789" is 21 bytes of data: one past the limit.
        let input = Array("data: 0123456789\ndata: 0123456789\n".utf8)
        var fed = 0
        #expect(throws: SSEParser.ParseError.eventTooLarge(20)) {
            for byte in input {
                fed += 1
                _ = try parser.feed([byte])
            }
        }
        #expect(fed == input.count, "the error comes when the line that crosses the limit ends")
    }

    @Test func eventAtTheLimitPassesAndTheCountStartsOverAfterIt() throws {
        var parser = SSEParser(maxLineBytes: 64, maxEventBytes: 21)
        let event = Array("data: 0123456789\ndata: 0123456789\n\n".utf8)
        var events: [SSEParser.Event] = []
        for _ in 0..<3 {
            for byte in event { events += try parser.feed([byte]) }
        }
        #expect(events == Array(repeating: .init(event: nil, data: "0123456789\n0123456789", id: nil), count: 3))
    }

    @Test func commentsAndOtherFieldsDoNotCountTowardsTheEventLimit() throws {
        var parser = SSEParser(maxLineBytes: 64, maxEventBytes: 4)
        var events: [SSEParser.Event] = []
        for byte in Array((String(repeating: ": padding padding\nevent: long-name\n", count: 10) + "data: abcd\n\n").utf8) {
            events += try parser.feed([byte])
        }
        #expect(events == [.init(event: "long-name", data: "abcd", id: nil)])
    }

    @Test func byteOrderMarkIsSkipped() throws {
        var parser = SSEParser()
        #expect(try parser.feed([0xEF, 0xBB, 0xBF] + Array("data: x\n\n".utf8)) == [.init(event: nil, data: "x", id: nil)])
    }
}
