import Foundation

/// The parts of the llama.cpp reference vectors (Fixtures/generation.json, scoring.json) that
/// the forward-pass tests compare with.
enum ReferenceVectors {
    struct TopLogit: Decodable {
        let id: Int32
        let logit: Float
    }

    struct Generation: Decodable {
        struct Prompt: Decodable {
            let name: String
            let prompt_ids: [Int32]
            let next_token_top10: [TopLogit]
            let greedy_ids: [Int32]
            let top1_top2_logit_gap_per_step: [Float]
        }
        let prompts: [Prompt]
    }

    struct Scoring: Decodable {
        struct Token: Decodable {
            let id: Int32
            let logprob: Double
        }
        struct Case: Decodable {
            let name: String
            let prompt_ids: [Int32]
            let response_ids: [Int32]
            let per_token: [Token]
            let sum_logprob_including_im_end: Double
        }
        let cases: [Case]
    }

    static let generation: Generation = try! Fixtures.load(Generation.self, "generation.json")
    static let scoring: Scoring = try! Fixtures.load(Scoring.self, "scoring.json")
}
