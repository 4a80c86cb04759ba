import InferenceRuntime
import LLMClient
import Personalization

/// An upstream API as the generator a summary is transferred to (greedy-ish, seeded answers).
struct UpstreamTextGenerator: TextGenerator {
    let client: OpenAIClient
    let model: String

    init(client: OpenAIClient, model: String) {
        self.client = client
        self.model = model
    }

    var name: String { client.configuration.name }

    func answer(_ turns: [ChatMessage], maxTokens: Int, seed: UInt64) async throws -> String {
        let request = ChatCompletionRequest(model: model, messages: turns.map(ChatCompletionMessage.init),
                                            maxTokens: maxTokens, temperature: 0, seed: Int(clamping: seed))
        return try await client.complete(request).choices.first?.message.content ?? ""
    }
}
