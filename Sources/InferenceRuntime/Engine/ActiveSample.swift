/// One continuation being decoded: its sequence in the KV cache, sampler and text state.
struct ActiveSample {
    let job: GenerationJob
    /// Index of this sample within its job.
    let index: Int
    let sequence: KVCache.SequenceID
    var sampler: Sampler
    var detokenizer: StreamingDetokenizer
    var stops: StopMatcher
    let seed: UInt64
    let promptCount: Int
    let cachedPromptCount: Int
    var tokens: [Int32] = []
    var text = ""
    /// The last sampled token, fed at `position` in the next decode step.
    var next: Int32 = 0
    var position: Int
    var finish: FinishReason?
}
