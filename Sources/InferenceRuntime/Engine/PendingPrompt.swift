/// A generation whose prompt is being read, a chunk per engine step, between the decode steps
/// of the generations already running.
struct PendingPrompt {
    let job: GenerationJob
    let ids: [Int32]
    let sequence: KVCache.SequenceID
    /// The first sample's seed; sample i starts from `seed + i`.
    let seed: UInt64
    /// Leading positions reused from the prefix cache.
    let cached: Int
    /// The next prompt position to read (positions before it came from the prefix cache or
    /// earlier chunks).
    var position: Int
}
