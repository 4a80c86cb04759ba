extension API {
    /// The adapters the service runs with, by role (null: the base model alone).
    struct LoadedAdapters: Encodable, Sendable {
        @Nullable var summarizer: LoadedAdapter?
        @Nullable var generator: LoadedAdapter?

        init(_ models: ServedModels) {
            summarizer = models.summarizerAdapter.map(LoadedAdapter.init)
            generator = models.generatorAdapter.map(LoadedAdapter.init)
        }
    }
}
