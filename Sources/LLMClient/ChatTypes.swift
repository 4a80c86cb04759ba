import Foundation

/// OpenAI chat-completions wire types: only the fields popi sends or reads.

/// One message as the API carries it (the role as a string). Inside popi a message is the
/// runtime's `ChatMessage`; App converts at the edge.
public struct ChatCompletionMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        role = try container.decode(String.self, forKey: .role)
        // Providers send `null` content for tool calls and refusals; popi treats it as empty.
        content = try container.decodeIfPresent(String.self, forKey: .content) ?? ""
    }
}

public struct ChatCompletionRequest: Codable, Sendable {
    public struct StreamOptions: Codable, Sendable {
        public var includeUsage: Bool
        public init(includeUsage: Bool) { self.includeUsage = includeUsage }
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    public var model: String
    public var messages: [ChatCompletionMessage]
    public var maxTokens: Int?
    public var temperature: Float?
    public var topP: Float?
    public var seed: Int?
    public var stop: [String]?
    public var user: String?
    public var stream: Bool?
    public var streamOptions: StreamOptions?

    public init(model: String, messages: [ChatCompletionMessage], maxTokens: Int? = nil, temperature: Float? = nil,
                topP: Float? = nil, seed: Int? = nil, stop: [String]? = nil, user: String? = nil) {
        self.model = model
        self.messages = messages
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
        self.stop = stop
        self.user = user
    }

    enum CodingKeys: String, CodingKey {
        case model, messages, temperature, seed, stop, user, stream
        case maxTokens = "max_tokens"
        case topP = "top_p"
        case streamOptions = "stream_options"
    }
}

public struct Usage: Codable, Sendable, Equatable {
    public struct PromptTokensDetails: Codable, Sendable, Equatable {
        /// Prompt tokens the server did not compute again.
        public var cachedTokens: Int?

        public init(cachedTokens: Int?) {
            self.cachedTokens = cachedTokens
        }

        enum CodingKeys: String, CodingKey {
            case cachedTokens = "cached_tokens"
        }
    }

    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    public var promptTokensDetails: PromptTokensDetails?

    public init(promptTokens: Int, completionTokens: Int, totalTokens: Int, promptTokensDetails: PromptTokensDetails? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
        self.promptTokensDetails = promptTokensDetails
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
        case promptTokensDetails = "prompt_tokens_details"
    }
}

public struct ChatCompletion: Codable, Sendable {
    public struct Choice: Codable, Sendable {
        public var index: Int
        public var message: ChatCompletionMessage
        public var finishReason: String?
        enum CodingKeys: String, CodingKey {
            case index, message
            case finishReason = "finish_reason"
        }
    }

    public var id: String
    public var model: String?
    public var choices: [Choice]
    public var usage: Usage?
}

public struct ChatCompletionChunk: Codable, Sendable {
    public struct Delta: Codable, Sendable {
        public var role: String?
        public var content: String?

        public init(role: String? = nil, content: String? = nil) {
            self.role = role
            self.content = content
        }
    }

    public struct Choice: Codable, Sendable {
        public var index: Int
        public var delta: Delta
        public var finishReason: String?
        enum CodingKeys: String, CodingKey {
            case index, delta
            case finishReason = "finish_reason"
        }
    }

    public var id: String
    public var model: String?
    public var choices: [Choice]
    public var usage: Usage?
}
