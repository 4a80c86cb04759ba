import Testing
import InferenceRuntime

/// Building a tokenizer from small synthetic vocabularies: the metadata it needs, and errors.
@Suite struct TokenizerLoadingTests {
    static func file(_ metadata: [(String, GGUFValue)]) throws -> GGUFFile {
        var writer = GGUFWriter()
        writer.metadata = metadata
        return try GGUFFile(bytes: writer.bytes())
    }

    /// Vocabulary: the bytes a, b, Ġ (space), the merges "a b" and "Ġ ab", and one control token.
    static let base: [(String, GGUFValue)] = [
        ("tokenizer.ggml.model", .string("gpt2")),
        ("tokenizer.ggml.pre", .string("gpt-2")),
        ("tokenizer.ggml.tokens", .array(.string(["a", "b", "Ġ", "ab", "Ġab", "<|end|>"]))),
        ("tokenizer.ggml.token_type", .array(.int32([1, 1, 1, 1, 1, 3]))),
        ("tokenizer.ggml.merges", .array(.string(["a b", "Ġ ab"]))),
        ("tokenizer.ggml.eos_token_id", .uint32(5)),
    ]

    @Test func tinyVocabulary() throws {
        let tokenizer = try Tokenizer(gguf: Self.file(Self.base))
        #expect(tokenizer.encode("ab ab abba", mode: .plain) == [3, 4, 4, 1, 0])
        #expect(tokenizer.encode("ab<|end|>", mode: .template) == [3, 5])
        // Bytes the vocabulary lacks (here "<", "|", ...) are dropped, as llama.cpp does.
        #expect(tokenizer.encode("ab<|end|>", mode: .plain) == [3])
        #expect(tokenizer.eos == 5 && tokenizer.eot == 5 && tokenizer.endOfGeneration == [5])
        #expect(try tokenizer.decodeText([4, 5]) == " ab<|end|>")
    }

    @Test func errors() throws {
        func error(_ change: (inout [(String, GGUFValue)]) -> Void) throws -> String {
            var metadata = Self.base
            change(&metadata)
            do {
                _ = try Tokenizer(gguf: Self.file(metadata))
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(try error { $0[0].1 = .string("llama") } == "unsupported tokenizer model llama; popi supports byte-level BPE (gpt2)")
        #expect(try error { $0.remove(at: 0) } == "metadata key tokenizer.ggml.model is missing")
        #expect(try error { $0[1].1 = .string("tekken") }.hasPrefix("unsupported pre-tokenizer tekken (tokenizer.ggml.pre)"))
        #expect(try error { $0.remove(at: 4) } == "metadata key tokenizer.ggml.merges is missing")
        #expect(try error { $0[5].1 = .uint32(6) }
            == "metadata key tokenizer.ggml.eos_token_id: token id 6 is outside the vocabulary of 6 tokens")
        #expect(try error { $0[3].1 = .array(.int32([1, 1])) }
            == "metadata key tokenizer.ggml.token_type: expected 6 token types, found 2")
        #expect(try error { $0[2].1 = .array(.string(["a", "b", "Ġ", "ab", "a", "<|end|>"])) }
            == "token \"a\" appears twice in the vocabulary (ids 0 and 4)")
        #expect(try error { $0[2].1 = .array(.string([])) } == "metadata key tokenizer.ggml.tokens: 0 tokens")
        #expect(try error { $0[2].1 = .array(.int32([1])) } == "metadata key tokenizer.ggml.tokens is a int32, expected array of string")
    }

    /// A corrupt vocabulary is an error or a working tokenizer, never a crash: every bit flip
    /// of the small file above, then encoding and decoding with whatever loaded.
    @Test func survivesBitFlips() throws {
        var writer = GGUFWriter()
        writer.metadata = Self.base
        let bytes = writer.bytes()
        var loaded = 0
        for index in 0..<bytes.count {
            for bit in 0..<8 {
                var copy = bytes
                copy[index] ^= 1 << bit
                guard let file = try? GGUFFile(bytes: copy), let tokenizer = try? Tokenizer(gguf: file) else { continue }
                loaded += 1
                let ids = tokenizer.encode("ab ba<|end|> a", mode: .template)
                _ = try tokenizer.decode(ids)
            }
        }
        #expect(loaded > 0)
    }
}
