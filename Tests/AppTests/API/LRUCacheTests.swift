import Testing
@testable import App

@Suite struct LRUCacheTests {
    @Test func aFullCacheForgetsTheLeastRecentlyUsedEntry() {
        var cache = LRUCache<String, Int>(capacity: 3)
        cache.set("a", 1)
        cache.set("b", 2)
        cache.set("c", 3)
        #expect(cache.get("a") == 1, "a is now the most recently used")
        cache.set("d", 4)
        #expect(cache.count == 3)
        #expect(cache.get("b") == nil, "b was the least recently used")
        #expect(cache.get("a") == 1 && cache.get("c") == 3 && cache.get("d") == 4)
        cache.set("c", 30)
        cache.set("e", 5)
        #expect(cache.get("a") == nil && cache.get("c") == 30)
    }

    @Test func removedSlotsAreReusedAndTheBoundHolds() {
        var cache = LRUCache<Int, Int>(capacity: 100)
        for i in 0..<100 { cache.set(i, i) }
        for i in 0..<50 { cache.remove(i) }
        #expect(cache.count == 50 && cache.get(10) == nil)
        for i in 100..<150 { cache.set(i, i) }
        #expect(cache.count == 100 && cache.get(50) == 50 && cache.get(149) == 149)
        for i in 0..<20_000 { cache.set(1000 + i, i) }
        #expect(cache.count == 100)
        #expect(cache.get(1000 + 19_999) == 19_999 && cache.get(1000 + 19_900) == 19_900 && cache.get(1000 + 19_899) == nil)
        cache.remove(1000 + 19_999)
        cache.remove(1000 + 19_999)
        #expect(cache.count == 99)
    }
}
