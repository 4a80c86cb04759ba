/// Token types as stored in `tokenizer.ggml.token_type` (llama.cpp's numbering).
public enum TokenType: UInt8, Sendable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6
}
