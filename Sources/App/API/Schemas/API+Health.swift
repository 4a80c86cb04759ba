extension API {
    struct Health: Encodable, Sendable {
        let status = "ok"
    }
}
