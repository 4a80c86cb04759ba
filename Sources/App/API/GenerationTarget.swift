import LLMClient

/// Where a personalized prompt is answered: the in-process runtime or an upstream API.
enum GenerationTarget: Sendable {
    case local
    case upstream(OpenAIClient, model: String)

    var name: String {
        switch self {
        case .local: return "local"
        case .upstream(let client, _): return client.configuration.name
        }
    }
}
