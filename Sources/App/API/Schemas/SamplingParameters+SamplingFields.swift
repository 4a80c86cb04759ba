import HTTPServer
import InferenceRuntime

extension SamplingParameters {
    /// Stop sequences a request may give, as OpenAI's API allows.
    static let maxRequestStopCount = 4

    /// openapi.yaml's `SamplingFields`, shared by `/generate` and `/v1/chat/completions` (which
    /// also takes OpenAI's newer `max_completion_tokens`).
    init(_ fields: FieldReader, maxTokensLimit: Int, maxTokensKeys: [String] = ["max_tokens"]) throws {
        var maxTokens = 256
        for key in maxTokensKeys {
            if let value = try fields.integer(key, in: 1...maxTokensLimit) { maxTokens = value }
        }
        self.init(
            maxTokens: maxTokens,
            temperature: Float(try fields.number("temperature", in: 0...2) ?? 0.7),
            topP: Float(try fields.number("top_p", in: 0.000_001...1) ?? 0.95),
            seed: UInt64(try fields.integer("seed", in: 0...Int(1 << 53)) ?? Int.random(in: 0...Int(Int32.max))),
            stop: try Self.stopSequences(fields))
    }

    /// `stop`: a string (empty: none) or a list of up to 4 non-empty strings, each at most 256 bytes.
    private static func stopSequences(_ fields: FieldReader) throws -> [String] {
        let limit = maxStopLength
        let invalid = HTTPError.invalidRequest(
            "\(fields.name("stop")): a string or a list of at most \(maxRequestStopCount) non-empty strings, each at most \(limit) bytes")
        switch fields.fields["stop"] {
        case nil, .null?:
            return []
        case .string(let text)?:
            guard text.utf8.count <= limit else { throw invalid }
            return text.isEmpty ? [] : [text]
        case .array(let items)?:
            guard items.count <= maxRequestStopCount else { throw invalid }
            return try items.map {
                guard case .string(let text) = $0, !text.isEmpty, text.utf8.count <= limit else { throw invalid }
                return text
            }
        default:
            throw invalid
        }
    }
}
