import Foundation

/// The llama.cpp reference vectors in `Fixtures/` (see the README there).
enum Fixtures {
    struct Tokenization: Decodable {
        struct Case: Decodable {
            let name: String
            let text: String
            let ids: [Int32]
            let pieces_hex: [String]
            let detokenized: String
            let ids_special_false: [Int32]?
            let detokenized_special_false: String?
        }
        let cases: [Case]
    }

    struct Message: Decodable {
        let role: String
        let content: String
    }

    struct Generation: Decodable {
        struct Prompt: Decodable {
            let name: String
            let messages: [Message]
            let formatted_prompt: String
            let prompt_ids: [Int32]
        }
        let chat_template: String
        let prompts: [Prompt]
    }

    struct Scoring: Decodable {
        struct Case: Decodable {
            let name: String
            let messages: [Message]
            let response: String
            let prompt_ids: [Int32]
            let response_ids: [Int32]
        }
        let cases: [Case]
    }

    static func load<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let data = try Data(contentsOf: TestModel.fixtures.appendingPathComponent(name))
        return try JSONDecoder().decode(T.self, from: data)
    }

    static let tokenization: Tokenization = try! load(Tokenization.self, "tokenization.json")
    static let generation: Generation = try! load(Generation.self, "generation.json")
    static let scoring: Scoring = try! load(Scoring.self, "scoring.json")
}
