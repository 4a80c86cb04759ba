import Foundation
import Testing
@testable import InferenceRuntime

/// Every pre-tokenizer against llama.cpp: the default model's vocabulary under each
/// `tokenizer.ggml.pre`, on tricky and random strings (Fixtures/tokenizer-variants.json,
/// made by bench/tokenizer-reference.sh).
@Suite struct TokenizerVariantTests {
    struct Reference: Decodable {
        struct Variant: Decodable {
            let pre: String
            let plain: [[Int32]]
            let template: [String: [Int32]]
        }
        struct Chat: Decodable {
            let messages: [Fixtures.Message]
            let add_generation_prompt: Bool
            let formatted: String
            let ids: [Int32]
        }
        let strings: [String]
        let variants: [String: Variant]
        let chat: [Chat]
    }

    static let reference: Reference = try! Fixtures.load(Reference.self, "tokenizer-variants.json")

    static func tokenizer(pre: String) throws -> Tokenizer {
        let file = TestModel.file
        return try Tokenizer(
            tokens: try #require(try file.stringArray("tokenizer.ggml.tokens")),
            types: try file.array("tokenizer.ggml.token_type")?.integers,
            merges: try #require(try file.stringArray("tokenizer.ggml.merges")),
            preTokenizer: try #require(PreTokenizer(ggmlName: pre)), preTokenizerName: pre,
            ignoresMerges: PreTokenizer.ignoresMerges(ggmlName: pre),
            bos: 1, eos: 2, eot: nil, eom: nil, pad: 2, unk: 0, addsBOS: false)
    }

    @Test(arguments: ["smollm", "gpt2", "llama3", "qwen2", "default"])
    func matchesLlamaCpp(variant name: String) throws {
        let variant = try #require(Self.reference.variants[name])
        let tokenizer = try Self.tokenizer(pre: variant.pre)
        var mismatches: [String] = []
        for (index, text) in Self.reference.strings.enumerated() {
            let plain = tokenizer.encode(text, mode: .plain)
            if plain != variant.plain[index] { mismatches.append("plain \(text.debugDescription): \(plain) != \(variant.plain[index])") }
            let template = tokenizer.encode(text, mode: .template)
            let expected = variant.template[String(index)] ?? variant.plain[index]
            if template != expected { mismatches.append("template \(text.debugDescription): \(template) != \(expected)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
    }

    @Test func chatPromptsMatchJinjaAndLlamaCpp() throws {
        let template = try ChatTemplate(gguf: TestModel.file)
        for chat in Self.reference.chat {
            let messages = try chat.messages.map { ChatMessage(role: try #require(ChatMessage.Role(rawValue: $0.role)), content: $0.content) }
            #expect(template.renderText(messages, addGenerationPrompt: chat.add_generation_prompt) == chat.formatted)
            #expect(try template.encode(messages, addGenerationPrompt: chat.add_generation_prompt, tokenizer: TestModel.tokenizer) == chat.ids,
                    "\(chat.formatted.debugDescription)")
        }
    }
}
