import HTTPServer

extension API {
    /// The error event that ends a stream which failed after it began: the `Error` schema, with
    /// `type` (`server_error`) only in OpenAI-shaped streams, where OpenAI's SDKs look for it.
    struct StreamError: Encodable, Sendable {
        struct Detail: Encodable, Sendable {
            let code: String
            let message: String
            var type: String?
        }

        let error: Detail

        init(_ error: HTTPError, openAI: Bool) {
            self.error = Detail(code: error.code, message: error.message, type: openAI ? "server_error" : nil)
        }
    }
}
