extension API {
    struct APIKeyList: Encodable, Sendable {
        let keys: [APIKey]
    }
}
