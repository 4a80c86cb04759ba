import Glibc

/// The tokens of words already merged during one `encode` call, keyed by the word's bytes in
/// the text being encoded (stored as offsets, not copied). Natural text repeats its words, so
/// most words skip BPE entirely.
struct WordCache {
    private var slots = [Int32](repeating: 0, count: 1024)
    private var hashes: [UInt64] = []
    private var keyStarts: [Int] = []
    private var keyCounts: [Int32] = []
    private var valueRanges: [Range<Int>] = []
    private(set) var values: [Int32] = []

    /// Longer words rarely repeat; they are merged every time.
    static let maximumWordLength = 64

    func find(_ word: UnsafeBufferPointer<UInt8>, hash: UInt64, in text: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard word.count <= Self.maximumWordLength else { return nil }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[slot]) - 1
            if entry < 0 { return nil }
            if hashes[entry] == hash, Int(keyCounts[entry]) == word.count,
               memcmp(text.baseAddress! + keyStarts[entry], word.baseAddress!, word.count) == 0 {
                return valueRanges[entry]
            }
            slot = (slot + 1) & mask
        }
    }

    mutating func insert(start: Int, count: Int, hash: UInt64, values newValues: ArraySlice<Int32>) {
        guard count <= Self.maximumWordLength else { return }
        if (hashes.count + 1) * 2 > slots.count { grow() }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 { slot = (slot + 1) & mask }
        hashes.append(hash)
        keyStarts.append(start)
        keyCounts.append(Int32(count))
        let first = values.count
        values.append(contentsOf: newValues)
        valueRanges.append(first..<values.count)
        slots[slot] = Int32(hashes.count)
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        let mask = slots.count - 1
        for (entry, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(entry + 1)
        }
    }
}
