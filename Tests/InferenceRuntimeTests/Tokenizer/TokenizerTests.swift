import Foundation
import Testing
@testable import InferenceRuntime

@Suite struct TokenizerTests {
    let tokenizer = TestModel.tokenizer

    @Test func specialTokensOfTheDefaultModel() {
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.bos == 1 && tokenizer.eos == 2 && tokenizer.eot == 2 && tokenizer.pad == 2 && tokenizer.unk == 0)
        #expect(tokenizer.endOfGeneration == [0, 2])
        #expect(tokenizer.specialToken("<|im_start|>") == 1)
        #expect(tokenizer.specialToken("<|im_end|>") == 2)
        #expect(tokenizer.type(of: 1) == .control && tokenizer.type(of: 100) == .normal && tokenizer.type(of: -1) == nil)
        #expect(tokenizer.preTokenizer == .smollm)
    }

    @Test func emptyText() throws {
        #expect(tokenizer.encode("", mode: .plain).isEmpty)
        #expect(tokenizer.encode("", mode: .template).isEmpty)
        #expect(try tokenizer.encode(validatingUTF8: [], mode: .plain).isEmpty)
        #expect(try tokenizer.decode([]).isEmpty)
    }

    /// Invalid UTF-8 from outside is an error naming the offset, never a crash or a silent replacement.
    @Test func invalidUTF8IsRejected() throws {
        let cases: [([UInt8], Int)] = [
            ([0xFF], 0), ([0x61, 0x80], 1), ([0x61, 0x62, 0xC3], 2), ([0xE2, 0x82], 0), ([0xED, 0xA0, 0x80], 0),
            ([0xF4, 0x90, 0x80, 0x80], 0), ([0x61, 0xC0, 0xAF], 1), (Array("ok 😀 then".utf8) + [0xF0, 0x9F, 0x98], 12),
        ]
        for (bytes, offset) in cases {
            #expect(throws: TokenizerError.invalidUTF8(offset: offset)) { try tokenizer.encode(validatingUTF8: bytes, mode: .plain) }
        }
        let valid = Array("Café 😀 <|im_start|>".utf8)
        #expect(try tokenizer.encode(validatingUTF8: valid, mode: .template) == tokenizer.encode("Café 😀 <|im_start|>", mode: .template))
    }

    @Test func invalidIDsAreErrors() {
        #expect(throws: TokenizerError.invalidTokenID(49152, vocabularySize: 49152)) { try tokenizer.decode([5, 49152]) }
        #expect(throws: TokenizerError.invalidTokenID(-1, vocabularySize: 49152)) { try tokenizer.decode([-1]) }
        #expect(tokenizer.piece(49152) == nil)
    }

    @Test func controlTokensRenderOnlyWhenAsked() throws {
        let ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|>", mode: .template)
        #expect(try tokenizer.decodeText(ids) == "<|im_start|>user\nhi<|im_end|>")
        #expect(try tokenizer.decodeText(ids, renderSpecial: false) == "user\nhi")
    }

    /// About 1 MB of varied text: round-trips exactly, and tokenizing it in one piece equals
    /// tokenizing its lines one by one (words never cross a line break in this pre-tokenizer
    /// except runs of whitespace, which the lines here do not end with).
    @Test func oneMegabyteRoundTrips() throws {
        var lines: [String] = []
        var size = 0
        var seed: UInt64 = 42
        let words = ["the", "quick", "brown", "fox", "jumps", "über", "日本語", "😀", "naïve", "1999", "it's", "co-op", "(x)", "$5"]
        while size < 1_000_000 {
            var line: [String] = []
            for _ in 0..<12 {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                line.append(words[Int(seed >> 33) % words.count])
            }
            let text = line.joined(separator: " ")
            lines.append(text)
            size += text.utf8.count + 1
        }
        let text = lines.joined(separator: "\n")
        let ids = tokenizer.encode(text, mode: .plain)
        #expect(ids.count > 200_000)
        #expect(try tokenizer.decodeText(ids) == text)
        let sample = lines.prefix(200)
        let joined = sample.map { tokenizer.encode($0, mode: .plain) }.joined(separator: [tokenizer.encode("\n", mode: .plain)[0]])
        #expect(Array(joined) == tokenizer.encode(sample.joined(separator: "\n"), mode: .plain))
    }

    /// Long words (runs of spaces, long unbroken strings) take the heap path; it must agree
    /// with the linear path on every word.
    @Test func heapAndLinearMergesAgree() {
        var seed: UInt64 = 7
        let alphabet = Array("aaabbcde    \n.,xyz0'ʼé日".utf8)
        for length in [2, 3, 5, 8, 13, 21, 34, 47, 48, 49, 60, 100, 300] {
            for _ in 0..<20 {
                var word: [UInt8] = []
                for _ in 0..<length {
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    word.append(alphabet[Int(seed >> 33) % alphabet.count])
                }
                let initial = word.map { tokenizer.byteSymbols[Int($0)] }
                var linear: [Int32] = []
                var heap: [Int32] = []
                var merger = BPEMerger()
                initial.withUnsafeBufferPointer { merger.mergeLinear($0, rules: tokenizer.rules, into: &linear) }
                initial.withUnsafeBufferPointer { merger.mergeWithHeap($0, rules: tokenizer.rules, into: &heap) }
                #expect(linear == heap, "\(word)")
            }
        }
    }

    @Test func pathologicalInputsStayLinear() throws {
        for text in [String(repeating: " ", count: 20_000), String(repeating: "a", count: 20_000),
                     String(repeating: "<|im_start|>", count: 2_000), String(repeating: "9", count: 20_000),
                     String(repeating: "😀", count: 5_000)] {
            let plain = tokenizer.encode(text, mode: .plain)
            #expect(try tokenizer.decodeText(plain) == text)
            let template = tokenizer.encode(text, mode: .template)
            #expect(try tokenizer.decodeText(template) == text)
        }
        #expect(tokenizer.encode(String(repeating: "<|im_start|>", count: 2_000), mode: .template) == Array(repeating: 1, count: 2_000))
    }
}
