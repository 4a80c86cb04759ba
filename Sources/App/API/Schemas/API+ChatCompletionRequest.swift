import InferenceRuntime
import HTTPServer
import Personalization

extension API {
    /// OpenAI's chat completion request, as far as popi supports it: one choice, text content.
    struct ChatCompletionRequest: Sendable {
        let model: String
        let messages: [ChatMessage]
        let sampling: SamplingParameters
        let stream: Bool
        /// Whether the stream ends with a chunk holding `usage` (`stream_options.include_usage`).
        let includeUsage: Bool
        /// Whose summary personalizes the answer: the `user` field, else the `X-Popi-User` header.
        let user: String?

        init(_ body: JSONValue, userHeader: String?, limits: APIConfiguration) throws {
            let fields = try FieldReader(body)
            model = try fields.requiredString("model", maxLength: 256)
            messages = try Self.messages(fields, maxFieldBytes: limits.maxFieldBytes)
            sampling = try SamplingParameters(fields, maxTokensLimit: limits.maxGenerationTokens,
                                              maxTokensKeys: ["max_tokens", "max_completion_tokens"])
            if let n = try fields.integer("n", in: 1...128), n != 1 {
                throw HTTPError.invalidRequest("n: only 1 choice is supported")
            }
            stream = try fields.bool("stream") ?? false
            includeUsage = try fields.object("stream_options").map {
                try FieldReader($0, path: "stream_options").bool("include_usage") ?? false
            } ?? false
            if let userHeader, !RequestGuard.isValidUserID(userHeader) {
                throw HTTPError.invalidRequest("X-Popi-User: must be 1-256 bytes without control characters")
            }
            user = try fields.string("user", maxLength: 256) ?? userHeader
            if let user, !RequestGuard.isValidUserID(user) {
                throw HTTPError.invalidRequest("user: must be 1-256 bytes without control characters")
            }
        }

        /// OpenAI messages: roles system / developer (as system) / user / assistant; content a string
        /// or a list of text parts.
        private static func messages(_ fields: FieldReader, maxFieldBytes: Int) throws -> [ChatMessage] {
            let items = try fields.array("messages", required: true, maxCount: 512) ?? []
            guard !items.isEmpty else { throw HTTPError.invalidRequest("messages: give at least one message") }
            let turns = try items.enumerated().map { index, item -> ChatMessage in
                let message = try FieldReader(item, path: "messages[\(index)]")
                let role: ChatMessage.Role
                switch try message.string("role", required: true, maxLength: 32) {
                case "system", "developer": role = .system
                case "user": role = .user
                case "assistant": role = .assistant
                default: throw HTTPError.invalidRequest("messages[\(index)].role: must be system, developer, user or assistant")
                }
                let text: String
                switch message.fields["content"] {
                case .string(let content)?:
                    text = content
                case .array(let parts)?:
                    text = try parts.enumerated().map { partIndex, part in
                        let reader = try FieldReader(part, path: "messages[\(index)].content[\(partIndex)]")
                        guard try reader.string("type", required: true) == "text" else {
                            throw HTTPError.invalidRequest("messages[\(index)].content[\(partIndex)].type: only text parts are supported")
                        }
                        return try reader.string("text", required: true, nonEmpty: false, maxLength: maxFieldBytes) ?? ""
                    }.joined()
                case .null? where role == .assistant, nil where role == .assistant:
                    text = ""
                default:
                    throw HTTPError.invalidRequest("messages[\(index)].content: must be a string or a list of text parts")
                }
                guard text.utf8.count <= maxFieldBytes else {
                    throw HTTPError.invalidRequest("messages[\(index)].content: longer than \(maxFieldBytes) bytes")
                }
                return ChatMessage(role: role, content: text)
            }
            guard turns.contains(where: { $0.role == .user }) else {
                throw HTTPError.invalidRequest("messages: need at least one user message")
            }
            guard turns.contains(where: { !$0.content.isEmpty }) else {
                throw HTTPError.invalidRequest("messages: need at least one message with text")
            }
            return turns
        }
    }
}
