/// Why a model's chat template cannot be used.
public enum ChatTemplateError: Error, Equatable, CustomStringConvertible {
    case missingTemplate
    case unrecognisedTemplate(excerpt: String)
    case unknownKind(String)
    case missingControlToken(String)

    public var description: String {
        switch self {
        case .missingTemplate:
            return "the model file has no chat template (tokenizer.chat_template); choose one with --chat-template chatml|llama3"
        case let .unrecognisedTemplate(excerpt):
            return "unrecognised chat template (starts \(clip(excerpt.debugDescription))); popi knows ChatML and Llama-3 templates, choose one with --chat-template chatml|llama3"
        case let .unknownKind(name):
            return "unknown chat template \(clip(name)); expected chatml or llama3"
        case let .missingControlToken(text):
            return "the chat template needs the control token \(text), which the model's vocabulary lacks"
        }
    }
}
