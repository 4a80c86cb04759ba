/// Why a model's tokenizer cannot be built, or why input cannot be tokenized.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case unsupportedModel(String)
    case unsupportedPreTokenizer(String)
    case missingKey(String)
    case invalidValue(key: String, reason: String)
    case duplicateToken(text: String, first: Int, second: Int)
    case invalidUTF8(offset: Int)
    case invalidTokenID(Int32, vocabularySize: Int)

    public var description: String {
        switch self {
        case let .unsupportedModel(model):
            return "unsupported tokenizer model \(clip(model)); popi supports byte-level BPE (gpt2)"
        case let .unsupportedPreTokenizer(name):
            let known = "smollm, gpt2, llama3, qwen2, default and their llama.cpp aliases"
            return "unsupported pre-tokenizer \(clip(name)) (tokenizer.ggml.pre); supported: \(known)"
        case let .missingKey(key):
            return "metadata key \(key) is missing"
        case let .invalidValue(key, reason):
            return "metadata key \(key): \(reason)"
        case let .duplicateToken(text, first, second):
            return "token \(clip(text.debugDescription)) appears twice in the vocabulary (ids \(first) and \(second))"
        case let .invalidUTF8(offset):
            return "text is not valid UTF-8 (invalid byte sequence at offset \(offset))"
        case let .invalidTokenID(id, size):
            return "token id \(id) is outside the vocabulary (size \(size))"
        }
    }
}
