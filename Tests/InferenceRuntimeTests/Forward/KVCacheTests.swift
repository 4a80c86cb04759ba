import Testing
@testable import InferenceRuntime

@Suite struct KVCacheTests {
    static let config = LlamaModelTests.config

    /// Writes a recognizable value for `positions` of layer 0 (every key half = position + mark).
    static func write(_ cache: KVCache, _ id: KVCache.SequenceID, _ positions: Range<Int>, mark: UInt16) throws {
        try cache.prepareWrite(id, from: positions.lowerBound, to: positions.upperBound)
        let width = cache.kvHeadCount * cache.headDimension
        for p in positions {
            let keys = [UInt16](repeating: UInt16(p) &+ mark, count: width)
            cache.store(id, position: p, layer: 0, keys: keys, values: keys)
        }
    }

    static func value(_ cache: KVCache, _ id: KVCache.SequenceID, _ position: Int) -> UInt16 {
        let base = cache.pageBase(id, position: position)
        let offset = cache.offsets(layer: 0, head: 0).value
        return (base + offset).assumingMemoryBound(to: UInt16.self)[(position % cache.pagePositions) * cache.headDimension]
    }

    @Test func forksShareThePrefixAndCopyOnWrite() throws {
        let cache = KVCache(config: Self.config, pagePositions: 16)
        let a = cache.create()
        try Self.write(cache, a, 0..<40, mark: 0)
        #expect(cache.pagesInUse == 3)
        let b = cache.fork(a)
        #expect(cache.pagesInUse == 3)
        // b writes into the shared third page: only that page is copied.
        try Self.write(cache, b, 40..<41, mark: 1000)
        #expect(cache.pagesInUse == 4)
        #expect(Self.value(cache, a, 39) == 39 && Self.value(cache, b, 39) == 39)
        #expect(Self.value(cache, b, 40) == 1040)
        // a overwrites position 20 (shared second page): b keeps its own.
        try Self.write(cache, a, 20..<21, mark: 500)
        #expect(cache.length(of: a) == 21)
        #expect(Self.value(cache, a, 20) == 520 && Self.value(cache, b, 20) == 20)
        cache.remove(a)
        cache.remove(b)
        #expect(cache.pagesInUse == 0)
    }

    @Test func truncationDropsPagesAndForksCanStopEarly() throws {
        let cache = KVCache(config: Self.config, pagePositions: 16)
        let a = cache.create()
        try Self.write(cache, a, 0..<50, mark: 0)
        let prefix = cache.fork(a, length: 17)
        #expect(cache.length(of: prefix) == 17)
        cache.truncate(a, to: 10)
        #expect(cache.length(of: a) == 10)
        #expect(cache.pagesInUse == 2)  // a: page 0; prefix: pages 0 and 1
        cache.remove(prefix)
        #expect(cache.pagesInUse == 1)
    }

    @Test func limitsAreErrors() throws {
        let cache = KVCache(config: Self.config, pagePositions: 16, maxCachedPositions: 32)
        let a = cache.create()
        #expect(throws: InferenceError.cacheFull(positions: 32)) { try cache.prepareWrite(a, from: 0, to: 33) }
        #expect(throws: InferenceError.contextOverflow(needed: 8193, limit: 8192)) { try cache.prepareWrite(a, from: 0, to: 8193) }
    }
}
