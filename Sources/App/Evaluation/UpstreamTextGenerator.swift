import LLMClient
import Personalization

/// An upstream API as the generator a summary is transferred to (greedy-ish, seeded answers).
public struct UpstreamTextGenerator: TextGenerator {
    public let client: OpenAIClient
    public let model: String

    public init(client: OpenAIClient, model: String) {
        self.client = client
        self.model = model
    }

    public var name: String { client.configuration.name }

    public func answer(_ turns: [ChatTurn], maxTokens: Int, seed: UInt64) async throws -> String {
        let request = ChatCompletionRequest(model: model, messages: turns.map { ChatMessage(role: $0.role.rawValue, content: $0.content) },
                                            maxTokens: maxTokens, temperature: 0, seed: Int(clamping: seed))
        return try await client.complete(request).choices.first?.message.content ?? ""
    }
}
