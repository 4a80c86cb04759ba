extension API {
    /// A model `/v1/chat/completions` accepts: the local runtime (with its adapters) or an
    /// upstream's model (owned by the upstream).
    struct Model: Encodable, Sendable {
        let id: String
        let object = "model"
        let created: Int
        let ownedBy: String
        var adapters: LoadedAdapters?

        enum CodingKeys: String, CodingKey {
            case id, object, created, adapters
            case ownedBy = "owned_by"
        }
    }
}
