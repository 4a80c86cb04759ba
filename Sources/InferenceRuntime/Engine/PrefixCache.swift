/// The last prompt of each owner, kept in the KV cache (sharing pages with the generation that
/// read it) so that the owner's next prompt reads only the tokens after what the two share: the
/// chat template's preamble and the personalized system turn at least, earlier turns of a
/// conversation too. Bounded by a page budget, least recently used first out. Touched only on
/// the engine thread.
///
/// A kept prompt is reused only by the same owner under the same version and adapter, and only
/// for tokens identical to the new prompt's, so nothing computed for one user or one summary
/// reaches another. A position's KV does not depend on the pass that computed it, so a reused
/// prefix gives the same bits as reading the whole prompt.
final class PrefixCache {
    private struct Entry {
        let version: String
        /// Held so that its identity cannot be taken by another adapter while the entry lives.
        let adapter: LoRAAdapter?
        let tokens: [Int32]
        let sequence: KVCache.SequenceID
        let pages: Int
        var lastUse: UInt64
    }

    let statistics: PrefixCacheStatistics
    private let budgetPages: Int
    private let cache: KVCache
    private var entries: [String: Entry] = [:]
    private var pagesHeld = 0
    private var clock: UInt64 = 0

    init(cache: KVCache, budgetPages: Int) {
        self.cache = cache
        self.budgetPages = budgetPages
        statistics = PrefixCacheStatistics(budgetBytes: budgetPages * cache.pageBytes)
    }

    /// A new sequence holding the longest prefix of `ids` that the owner's kept prompt shares
    /// (never all of `ids`: the last token runs for its logits), and that prefix's length; nil
    /// when nothing is reused.
    func reuse(_ key: PrefixCacheKey, adapter: LoRAAdapter?, ids: [Int32]) -> (sequence: KVCache.SequenceID, length: Int)? {
        guard budgetPages > 0 else { return nil }
        guard let entry = entries[key.owner] else {
            statistics.miss()
            return nil
        }
        guard entry.version == key.version, entry.adapter === adapter else {
            drop(key.owner)
            statistics.invalidated()
            statistics.miss()
            return nil
        }
        let shared = Self.reusableLength(of: entry.tokens, for: ids)
        guard shared > 0 else {
            statistics.miss()
            return nil
        }
        clock += 1
        entries[key.owner]!.lastUse = clock
        statistics.hit(reusing: shared)
        return (cache.fork(entry.sequence, length: shared), shared)
    }

    /// Keeps `ids`, whose KV `sequence` holds from position 0, as the owner's prompt in place of
    /// the one kept before, evicting the least recently used prompts to fit the budget.
    func keep(_ key: PrefixCacheKey, adapter: LoRAAdapter?, ids: [Int32], sequence: KVCache.SequenceID) {
        let pages = (ids.count + cache.pagePositions - 1) / cache.pagePositions
        guard budgetPages > 0, pages <= budgetPages else { return }
        drop(key.owner)
        while pagesHeld + pages > budgetPages, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
            drop(oldest)
            statistics.evicted()
        }
        clock += 1
        entries[key.owner] = Entry(version: key.version, adapter: adapter, tokens: ids,
                                   sequence: cache.fork(sequence, length: ids.count), pages: pages, lastUse: clock)
        pagesHeld += pages
        publish()
    }

    /// How many leading tokens of `ids` a kept prompt `kept` supplies: those the two share, but
    /// never all of `ids`, whose last token runs for its logits.
    static func reusableLength(of kept: [Int32], for ids: [Int32]) -> Int {
        min(zip(kept, ids).prefix { $0 == $1 }.count, ids.count - 1)
    }

    private func drop(_ owner: String) {
        guard let entry = entries.removeValue(forKey: owner) else { return }
        cache.remove(entry.sequence)
        pagesHeld -= entry.pages
        publish()
    }

    private func publish() {
        statistics.held(entries: entries.count, bytes: pagesHeld * cache.pageBytes)
    }
}
