import Foundation
import Personalization
import Testing

/// `popi generate` as a process with the real model: `--summary` words the prompt exactly as the
/// service's generator prompt, and bad input exits non-zero with a message.
@Suite struct GenerateTests {
    private func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try PopiProcess.run(arguments + ["--model", AppTestEnvironment.modelPath])
    }

    @Test func summaryPersonalizesLikeTheService() async throws {
        try #require(PopiProcess.isBuilt, "build popi first (swift build)")
        let summary = "- Answers in one short sentence.", prompt = "How do vaccines work?"
        let greedy = ["--temperature", "0", "--max-tokens", "12"]
        let personalized = try run(["generate", "--summary=\(summary)", "--prompt", prompt] + greedy)
        #expect(personalized.status == 0, "\(personalized.stderr)")
        let wording = PromptBuilder(model: try await AppTestEnvironment.model()).generatorTurns(summary: summary, prompt: prompt)[0].content
        let explicit = try run(["generate", "--prompt", wording] + greedy)
        #expect(personalized.stdout == explicit.stdout)
        let bare = try run(["generate", "--prompt", prompt] + greedy)
        #expect(personalized.stderr.split(separator: " ").first != bare.stderr.split(separator: " ").first,
                "the summary adds prompt tokens")
    }

    @Test func emptySummaryIsAUsageError() throws {
        try #require(PopiProcess.isBuilt, "build popi first (swift build)")
        let result = try run(["generate", "--summary", " ", "--prompt", "Hi"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--summary is empty"))
    }
}
