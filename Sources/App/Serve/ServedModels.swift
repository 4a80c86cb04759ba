import InferenceRuntime
import Personalization

/// The models the service runs, all on one engine: the base model scores summaries (POPI's
/// reward is defined by the base generator, as in training) and counts tokens; the summarizer
/// (base + its adapter) writes summaries; the generator (base + its adapter) answers prompts.
struct ServedModels: Sendable {
    let base: any PreferenceModel
    let summarizer: any PreferenceModel
    let generator: any PreferenceModel
    let summarizerAdapter: ServedAdapter?
    let generatorAdapter: ServedAdapter?
    /// The engine's cache of users' last prompts, for the metrics (nil for a model without one).
    let prefixCache: PrefixCacheStatistics?

    /// The base model in every role.
    init(base: any PreferenceModel) {
        self.base = base
        summarizer = base
        generator = base
        summarizerAdapter = nil
        generatorAdapter = nil
        prefixCache = (base as? RuntimeModel)?.engine.prefixCacheStatistics
    }

    init(base: RuntimeModel, summarizerAdapter: ServedAdapter?, generatorAdapter: ServedAdapter?) {
        self.base = base
        summarizer = base.with(adapter: summarizerAdapter?.adapter)
        generator = base.with(adapter: generatorAdapter?.adapter)
        self.summarizerAdapter = summarizerAdapter
        self.generatorAdapter = generatorAdapter
        prefixCache = base.engine.prefixCacheStatistics
    }
}
