import Glibc

/// An immutable-after-build hash map from byte strings to token ids, with the keys stored in
/// one flat buffer (a vocabulary of 50k-150k short strings would otherwise be as many arrays).
struct ByteSequenceTable: Sendable {
    private(set) var bytes: [UInt8] = []
    /// Start of key `i` in `bytes`; `starts[i + 1]` is its end.
    private(set) var starts: [Int32] = [0]
    /// The id stored for key `i`.
    private(set) var ids: [Int32] = []
    /// Open addressing: key index + 1, or 0 for an empty slot.
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    var count: Int { ids.count }

    func id(for key: UnsafeBufferPointer<UInt8>) -> Int32? {
        let hash = ByteHash.hash(key)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return nil }
            if matches(entry - 1, key) { return ids[entry - 1] }
            slot = (slot + 1) & mask
        }
    }

    func id(for key: [UInt8]) -> Int32? {
        key.withUnsafeBufferPointer { id(for: $0) }
    }

    /// Stores `id` for `key`, replacing an earlier id for the same key (the last one wins).
    mutating func set(_ key: [UInt8], id: Int32) {
        key.withUnsafeBufferPointer { buffer in
            let hash = ByteHash.hash(buffer)
            var slot = Int(truncatingIfNeeded: hash) & mask
            while true {
                let entry = Int(slots[slot])
                if entry == 0 { break }
                if matches(entry - 1, buffer) {
                    ids[entry - 1] = id
                    return
                }
                slot = (slot + 1) & mask
            }
            if (ids.count + 1) * 2 > slots.count {
                grow()
                slot = Int(truncatingIfNeeded: hash) & mask
                while slots[slot] != 0 { slot = (slot + 1) & mask }
            }
            bytes.append(contentsOf: buffer)
            starts.append(Int32(bytes.count))
            ids.append(id)
            slots[slot] = Int32(ids.count)
        }
    }

    private func matches(_ index: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = Int(starts[index])
        let length = Int(starts[index + 1]) - start
        guard length == key.count else { return false }
        return bytes.withUnsafeBufferPointer { stored in
            guard let base = stored.baseAddress, let keyBase = key.baseAddress else { return length == 0 }
            return memcmp(base + start, keyBase, length) == 0
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        for index in 0..<ids.count {
            let start = Int(starts[index])
            let end = Int(starts[index + 1])
            let hash = bytes.withUnsafeBufferPointer { ByteHash.hash(UnsafeBufferPointer(rebasing: $0[start..<end])) }
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index + 1)
        }
    }
}

/// A fast non-cryptographic hash for short byte strings (words, tokens). Inputs come from
/// users, so tables using it are sized by the number of distinct keys, and probing stays
/// linear; worst cases cost time proportional to the input, never a crash.
enum ByteHash {
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        guard let base = key.baseAddress else { return 0x9E37_79B9_7F4A_7C15 }
        let raw = UnsafeRawPointer(base)
        let count = key.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(count) &* 0xFF51_AFD7_ED55_8CCD)
        var i = 0
        while i + 8 <= count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < count {
            tail |= UInt64(base[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return h
    }
}
