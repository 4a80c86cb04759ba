import InferenceRuntime
import LLMClient

extension ChatCompletionMessage {
    /// A message of popi's as an upstream receives it.
    init(_ message: ChatMessage) {
        self.init(role: message.role.rawValue, content: message.content)
    }
}
