import InferenceRuntime
/// Orders candidate responses by a user's preference: each response's score is
/// log p(response | summary prompt) − log p(response | bare prompt), how much more likely the
/// summary makes it. Without a summary there is no preference to apply and every score is 0.
public struct Ranker: Sendable {
    public struct Ranked: Sendable, Equatable {
        public var index: Int
        public var score: Double
        public var withSummary: Double
        public var bare: Double
    }

    public let model: any PreferenceModel
    public let prompts: PromptBuilder

    public init(model: any PreferenceModel, prompts: PromptBuilder) {
        self.model = model
        self.prompts = prompts
    }

    /// Best first; ties keep the given order.
    public func rank(prompt: String, responses: [String], summary: String?) async throws -> [Ranked] {
        guard let summary else {
            return responses.indices.map { Ranked(index: $0, score: 0, withSummary: 0, bare: 0) }
        }
        let bare = try await model.logProbabilities(of: responses, after: prompts.bareTurns(prompt: prompt))
        let personal = try await model.logProbabilities(of: responses, after: prompts.generatorTurns(summary: summary, prompt: prompt))
        let ranked = responses.indices.map { Ranked(index: $0, score: personal[$0] - bare[$0], withSummary: personal[$0], bare: bare[$0]) }
        return ranked.enumerated().sorted { a, b in
            a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
        }.map(\.element)
    }
}
