import Testing
import InferenceRuntime

/// Exactness against llama.cpp on the default model (Fixtures/tokenization.json).
@Suite struct TokenizerReferenceTests {
    static let cases = Fixtures.tokenization.cases.map(\.name)

    private func reference(_ name: String) -> Fixtures.Tokenization.Case {
        Fixtures.tokenization.cases.first { $0.name == name }!
    }

    @Test(arguments: cases)
    func templateModeMatchesLlamaCpp(name: String) throws {
        let c = reference(name)
        let ids = TestModel.tokenizer.encode(c.text, mode: .template)
        #expect(ids == c.ids)
        let pieces = try c.ids.map { try #require(TestModel.tokenizer.piece($0)) }
        #expect(pieces.map(hex) == c.pieces_hex)
        #expect(try TestModel.tokenizer.decodeText(c.ids) == c.detokenized)
    }

    @Test(arguments: cases)
    func plainModeMatchesLlamaCpp(name: String) throws {
        let c = reference(name)
        let ids = TestModel.tokenizer.encode(c.text, mode: .plain)
        #expect(ids == (c.ids_special_false ?? c.ids))
        #expect(try TestModel.tokenizer.decodeText(ids) == (c.detokenized_special_false ?? c.detokenized))
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
