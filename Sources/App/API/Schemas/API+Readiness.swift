extension API {
    struct Readiness: Encodable, Sendable {
        struct Checks: Encodable, Sendable {
            /// `ok`, `unreachable`, or the pending migrations.
            let database: String
            let model: String
            let adapters: LoadedAdapters
            let accepting: Bool
        }

        /// `ready` or `not_ready`.
        let status: String
        let checks: Checks
    }
}
