extension API {
    struct ModelList: Encodable, Sendable {
        let object = "list"
        let data: [Model]
    }
}
