import Foundation
import Testing
@testable import Personalization

struct GenerationSamplesTests {
    @Test func eachConditionAnswersTheSameHeldOutPrompt() async throws {
        let model = WordModel(candidates: ["likes short answers"])
        let dataset = EvaluationRunTests.dataset(3)
        let evaluator = Evaluator(model: model, options: .init(candidates: 2), summarizer: model, generator: model)
        var evaluations: [UserEvaluation] = []
        for user in dataset.users.prefix(2) { evaluations.append(try await evaluator.evaluate(user)) }
        let samples = try await GenerationSamples(model: model, generator: model).make(dataset: dataset, evaluations: evaluations, count: 5)
        // Only evaluated users are sampled.
        #expect(samples.map(\.userID) == ["u0", "u1"])
        #expect(Set(samples[0].answers.keys) == [Condition.none.rawValue, Condition.bestOfN.rawValue,
                                                 Condition.trainedZeroShot.rawValue, Condition.trainedGenerator.rawValue])
        #expect(samples[0].answers[Condition.none.rawValue]?.summary == nil)
        #expect(samples[0].answers[Condition.trainedZeroShot.rawValue]?.summary == "likes short answers")
        let markdown = GenerationSamples.markdown(samples)
        #expect(markdown.contains("## u0: q") && markdown.contains("**Trained summarizer + generator**") && markdown.contains("> ok"))
    }
}
