/// What a request conditions on: a conversation rendered with the model's chat template (with the
/// assistant's turn opened), or token ids as they are.
public enum Prompt: Sendable, Equatable {
    case messages([ChatMessage])
    case tokens([Int32])

    /// One user message, optionally after a system message.
    public static func user(_ text: String, system: String? = nil) -> Prompt {
        .messages((system.map { [ChatMessage.system($0)] } ?? []) + [.user(text)])
    }
}

extension Prompt {
    /// Text from raw bytes; invalid UTF-8 is `InferenceError.invalidUTF8` with the offending offset.
    public static func text(utf8 bytes: [UInt8]) throws(InferenceError) -> String {
        if let offset = Tokenizer.firstInvalidUTF8Offset(bytes) { throw .invalidUTF8(offset: offset) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
