import Synchronization

/// Counters of the engine's prefix cache, readable from any thread.
public final class PrefixCacheStatistics: Sendable {
    /// The memory budget in bytes (0: the cache is off).
    public let budgetBytes: Int

    private let hitCount = Atomic<Int>(0)
    private let missCount = Atomic<Int>(0)
    private let evictionCount = Atomic<Int>(0)
    private let invalidationCount = Atomic<Int>(0)
    private let reusedTokenCount = Atomic<Int>(0)
    private let entryCount = Atomic<Int>(0)
    private let byteCount = Atomic<Int>(0)

    init(budgetBytes: Int) {
        self.budgetBytes = budgetBytes
    }

    /// Requests that reused a kept prompt of their owner.
    public var hits: Int { hitCount.load(ordering: .relaxed) }
    /// Requests with a key that found nothing to reuse.
    public var misses: Int { missCount.load(ordering: .relaxed) }
    /// Prompts dropped to stay inside the memory budget.
    public var evictions: Int { evictionCount.load(ordering: .relaxed) }
    /// Prompts dropped because their owner's version changed.
    public var invalidations: Int { invalidationCount.load(ordering: .relaxed) }
    /// Prompt tokens not computed again thanks to hits.
    public var reusedTokens: Int { reusedTokenCount.load(ordering: .relaxed) }
    /// Prompts kept now.
    public var entries: Int { entryCount.load(ordering: .relaxed) }
    /// KV bytes the kept prompts hold (whole pages, counted once per prompt even where prompts
    /// share pages with running generations).
    public var bytes: Int { byteCount.load(ordering: .relaxed) }

    func hit(reusing tokens: Int) {
        hitCount.add(1, ordering: .relaxed)
        reusedTokenCount.add(tokens, ordering: .relaxed)
    }

    func miss() { missCount.add(1, ordering: .relaxed) }
    func evicted() { evictionCount.add(1, ordering: .relaxed) }
    func invalidated() { invalidationCount.add(1, ordering: .relaxed) }

    func held(entries: Int, bytes: Int) {
        entryCount.store(entries, ordering: .relaxed)
        byteCount.store(bytes, ordering: .relaxed)
    }
}
