extension API {
    /// A `delta` event of a streamed `/generate`: the next piece of text.
    struct GenerateDelta: Encodable, Sendable {
        let text: String
    }
}
