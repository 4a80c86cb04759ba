/// Errors of generation and scoring requests. Descriptions are safe to show to a user.
public enum InferenceError: Error, Equatable, CustomStringConvertible {
    case emptyPrompt
    case contextOverflow(needed: Int, limit: Int)
    case cacheFull(positions: Int)
    case invalidParameter(name: String, reason: String)
    case invalidTokenID(Int32, vocabularySize: Int)
    case invalidUTF8(offset: Int)
    /// A request's LoRA adapter does not fit the engine's model.
    case adapterMismatch(AdapterError)
    case cancelled
    case engineStopped

    public var description: String {
        switch self {
        case .emptyPrompt:
            return "the prompt is empty"
        case .contextOverflow(let needed, let limit):
            return "the request needs \(needed) tokens of context but the model's context is \(limit) tokens"
        case .cacheFull(let positions):
            return "the key/value cache is full (\(positions) positions in use); retry later"
        case .invalidParameter(let name, let reason):
            return "invalid \(name): \(reason)"
        case .invalidTokenID(let id, let size):
            return "token id \(id) is outside the vocabulary of \(size) tokens"
        case .invalidUTF8(let offset):
            return "the text is not valid UTF-8 (first invalid byte at offset \(offset))"
        case .adapterMismatch(let error):
            return "the LoRA adapter does not fit this model: \(error)"
        case .cancelled:
            return "the request was cancelled"
        case .engineStopped:
            return "the inference engine has stopped"
        }
    }
}
