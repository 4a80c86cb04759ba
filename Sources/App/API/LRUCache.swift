/// A map of at most `capacity` entries that, when full, forgets the least recently used one:
/// constant time per operation (a dictionary of slots threaded on a doubly linked list).
/// Not synchronized: its owner holds it in a lock.
struct LRUCache<Key: Hashable, Value> {
    let capacity: Int
    private var slots: [Slot] = []
    private var index: [Key: Int] = [:]
    /// Slots of removed entries, reused first.
    private var free: [Int] = []
    /// Most and least recently used slot (-1: none).
    private var head = -1, tail = -1

    private struct Slot {
        var key: Key
        var value: Value
        var newer: Int
        var older: Int
    }

    init(capacity: Int) {
        precondition(capacity > 0, "an LRU cache holds at least one entry")
        self.capacity = capacity
    }

    var count: Int { index.count }

    /// The value for `key`, which becomes the most recently used.
    mutating func get(_ key: Key) -> Value? {
        guard let slot = index[key] else { return nil }
        moveToFront(slot)
        return slots[slot].value
    }

    /// Stores `value` as the most recently used; when full, the least recently used entry goes.
    mutating func set(_ key: Key, _ value: Value) {
        if let slot = index[key] {
            slots[slot].value = value
            moveToFront(slot)
            return
        }
        let fresh = Slot(key: key, value: value, newer: -1, older: -1)
        let slot: Int
        if index.count == capacity {
            // Full: the oldest entry's slot takes the new one, so the cache never grows.
            slot = tail
            unlink(slot)
            index[slots[slot].key] = nil
            slots[slot] = fresh
        } else if let free = free.popLast() {
            slot = free
            slots[slot] = fresh
        } else {
            slot = slots.count
            slots.append(fresh)
        }
        index[key] = slot
        pushFront(slot)
    }

    /// Forgets `key`; its slot is reused by the next new entry.
    mutating func remove(_ key: Key) {
        guard let slot = index.removeValue(forKey: key) else { return }
        unlink(slot)
        free.append(slot)
    }

    private mutating func moveToFront(_ slot: Int) {
        guard slot != head else { return }
        unlink(slot)
        pushFront(slot)
    }

    private mutating func pushFront(_ slot: Int) {
        slots[slot].older = head
        slots[slot].newer = -1
        if head >= 0 { slots[head].newer = slot }
        head = slot
        if tail < 0 { tail = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (slots[slot].newer, slots[slot].older)
        if newer >= 0 { slots[newer].older = older } else { head = older }
        if older >= 0 { slots[older].newer = newer } else { tail = newer }
    }
}
