import InferenceRuntime
import Personalization

extension API {
    struct GenerateRequest: Sendable {
        let prompt: String
        let sampling: SamplingParameters
        let stream: Bool
        /// `local` or a configured upstream's name; nil is local.
        let generator: String?

        init(_ body: JSONValue, limits: APIConfiguration) throws {
            let fields = try FieldReader(body)
            prompt = try fields.requiredString("prompt", maxLength: limits.maxFieldBytes)
            sampling = try SamplingParameters(fields, maxTokensLimit: limits.maxGenerationTokens)
            stream = try fields.bool("stream") ?? false
            generator = try fields.string("generator", maxLength: 64)
        }
    }
}
