import Testing
@testable import InferenceRuntime

@Suite struct StreamingDetokenizerTests {
    let tokenizer = TestModel.tokenizer

    /// Emoji and CJK split over several byte tokens come out whole: every chunk is complete
    /// text (no U+FFFD), and the chunks join to the original.
    @Test(arguments: ["Emoji: 😀👍🏽🚀 ❤️ 👨‍👩‍👧 done", "日本語のテキストです。中文测试。한국어 텍스트", "Café déjà vu, Ångström", ""])
    func emitsOnlyCompleteCharacters(text: String) throws {
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        var chunks: [String] = []
        for id in tokenizer.encode(text, mode: .plain) { chunks.append(try stream.append(id)) }
        chunks.append(stream.finish())
        #expect(chunks.joined() == text)
        #expect(!chunks.joined().unicodeScalars.contains("\u{FFFD}"))
        // Some token really was a partial character, or this test would not test anything.
        if text.hasPrefix("Emoji") { #expect(chunks.contains("")) }
    }

    @Test func controlTokensAreSilentUnlessRendered() throws {
        var silent = StreamingDetokenizer(tokenizer: tokenizer)
        var rendered = StreamingDetokenizer(tokenizer: tokenizer, renderSpecial: true)
        let ids = tokenizer.encode("hi<|im_end|>", mode: .template)
        #expect(try ids.map { try silent.append($0) }.joined() == "hi")
        #expect(try ids.map { try rendered.append($0) }.joined() == "hi<|im_end|>")
    }

    @Test func invalidBytesBecomeReplacementCharacters() throws {
        // Byte tokens: a lone continuation byte, then a lead byte that never completes.
        let continuation = tokenizer.byteSymbols[0xA9]
        let lead = tokenizer.byteSymbols[0xF0]
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(tokenizer.piece(continuation) == [0xA9] && tokenizer.piece(lead) == [0xF0])
        #expect(try stream.append(continuation) == "\u{FFFD}")
        #expect(try stream.append(lead) == "")
        #expect(stream.finish() == "\u{FFFD}")
    }

    @Test func incompleteTailLengths() {
        #expect(StreamingDetokenizer.incompleteTailLength([]) == 0)
        #expect(StreamingDetokenizer.incompleteTailLength([0x61]) == 0)
        #expect(StreamingDetokenizer.incompleteTailLength([0x61, 0xC3]) == 1)
        #expect(StreamingDetokenizer.incompleteTailLength([0xE6, 0x97]) == 2)
        #expect(StreamingDetokenizer.incompleteTailLength([0xF0, 0x9F, 0x98]) == 3)
        #expect(StreamingDetokenizer.incompleteTailLength([0xF0, 0x9F, 0x98, 0x80]) == 0)
        #expect(StreamingDetokenizer.incompleteTailLength([0xC3, 0xA9]) == 0)
        #expect(StreamingDetokenizer.incompleteTailLength([0xE0, 0x80]) == 0)  // overlong: never valid
        #expect(StreamingDetokenizer.incompleteTailLength([0xED, 0xA0]) == 0)  // surrogate: never valid
        #expect(StreamingDetokenizer.incompleteTailLength([0xFF]) == 0)
        #expect(StreamingDetokenizer.incompleteTailLength([0x80, 0x80, 0x80]) == 0)
    }
}
