import Foundation
import InferenceRuntime

/// Answers written under each condition for the same held-out prompts, so a reader can see
/// whether personalization keeps answers on the question (the margin can grow while answers
/// parrot the summary). Greedy decoding: the same inputs give the same text.
public struct GenerationSamples: Sendable {
    public struct Sample: Codable, Sendable, Equatable {
        public var userID: String
        public var prompt: String
        /// Condition → (summary used, answer).
        public var answers: [String: Answer]

        enum CodingKeys: String, CodingKey {
            case userID = "user_id"
            case prompt, answers
        }
    }

    public struct Answer: Codable, Sendable, Equatable {
        public var summary: String?
        public var text: String
    }

    public let model: any PreferenceModel
    public let generator: (any PreferenceModel)?
    public let maxTokens: Int

    public init(model: any PreferenceModel, generator: (any PreferenceModel)? = nil, maxTokens: Int = 160) {
        self.model = model
        self.generator = generator
        self.maxTokens = maxTokens
    }

    /// For the first `count` users with an evaluation: their first held-out prompt answered bare,
    /// with the best-of-N summary, and (when evaluated) with the trained summary, by the base and
    /// by the trained generator.
    public func make(dataset: PersonaDataset, evaluations: [UserEvaluation], count: Int) async throws -> [Sample] {
        let prompts = PromptBuilder(model: model)
        let byID = Dictionary(uniqueKeysWithValues: evaluations.map { ($0.userID, $0) })
        var samples: [Sample] = []
        for user in dataset.users where samples.count < count {
            guard let evaluation = byID[user.id], let pair = user.heldOut.first else { continue }
            var answers: [String: Answer] = [:]
            let settings = SamplingParameters(maxTokens: maxTokens, temperature: 0, seed: 1)
            func answer(_ model: any PreferenceModel, _ turns: [ChatMessage]) async throws -> String {
                try await model.generate(.messages(turns), settings: settings, onText: { _ in }).text
            }
            answers[Condition.none.rawValue] = Answer(summary: nil, text: try await answer(model, prompts.bareTurns(prompt: pair.prompt)))
            for condition in [Condition.bestOfN, .trainedZeroShot] {
                guard let summary = evaluation.result(condition)?.summary else { continue }
                let turns = prompts.generatorTurns(summary: summary, prompt: pair.prompt)
                answers[condition.rawValue] = Answer(summary: summary, text: try await answer(model, turns))
                if condition == .trainedZeroShot, let generator {
                    answers[Condition.trainedGenerator.rawValue] = Answer(summary: summary, text: try await answer(generator, turns))
                }
            }
            samples.append(Sample(userID: user.id, prompt: pair.prompt, answers: answers))
        }
        return samples
    }

    /// The samples as Markdown: per prompt, each condition's summary and answer.
    public static func markdown(_ samples: [Sample]) -> String {
        var text = "# Answers per condition\n\nGreedy decoding, the first held-out prompt of each user.\n"
        for sample in samples {
            text += "\n## \(sample.userID): \(sample.prompt)\n"
            for condition in Condition.allCases {
                guard let answer = sample.answers[condition.rawValue] else { continue }
                text += "\n**\(condition.label)**"
                if let summary = answer.summary { text += " (summary: \(summary.replacingOccurrences(of: "\n", with: " ")))" }
                text += "\n\n" + answer.text.split(separator: "\n", omittingEmptySubsequences: false).map { "> \($0)" }.joined(separator: "\n") + "\n"
            }
        }
        return text
    }
}
