extension API {
    /// A key just created: its fields and, this once, the whole secret as `key`.
    struct NewAPIKey: Encodable, Sendable {
        let apiKey: APIKey
        let secret: String

        enum CodingKeys: String, CodingKey {
            case key
        }

        func encode(to encoder: any Encoder) throws {
            try apiKey.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(secret, forKey: .key)
        }
    }
}
