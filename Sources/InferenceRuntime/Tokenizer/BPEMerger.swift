/// Applies BPE merges to one pre-tokenized word, as llama.cpp does: repeatedly merge the
/// adjacent pair with the lowest merge rank, the leftmost one on ties, until no pair has a rule.
///
/// Words up to `linearLimit` symbols (nearly all words) use a scan over an array of pair ranks;
/// longer ones (runs of spaces, long unbroken strings) use a heap over a linked list, so the
/// cost stays O(n log n) on adversarial input. Scratch buffers are reused between words.
struct BPEMerger {
    static let linearLimit = 48

    private var ids: [Int32] = []
    private var ranks: [Int32] = []
    private var merged: [Int32] = []
    private var next: [Int32] = []
    private var prev: [Int32] = []
    private var heap: [Candidate] = []

    private struct Candidate {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftID: Int32
        var rightID: Int32
        var merged: Int32

        @inline(__always)
        func precedes(_ other: Candidate) -> Bool {
            rank < other.rank || (rank == other.rank && left < other.left)
        }
    }

    /// Merges the symbols `initial` (one per byte of the word) and appends the resulting symbol ids.
    mutating func merge(_ initial: UnsafeBufferPointer<Int32>, rules: MergeTable, into output: inout [Int32]) {
        let n = initial.count
        if n <= 1 {
            output.append(contentsOf: initial)
        } else if n <= Self.linearLimit {
            mergeLinear(initial, rules: rules, into: &output)
        } else {
            mergeWithHeap(initial, rules: rules, into: &output)
        }
    }

    mutating func mergeLinear(_ initial: UnsafeBufferPointer<Int32>, rules: MergeTable, into output: inout [Int32]) {
        ids.removeAll(keepingCapacity: true)
        ids.append(contentsOf: initial)
        ranks.removeAll(keepingCapacity: true)
        merged.removeAll(keepingCapacity: true)
        for i in 0..<(ids.count - 1) {
            let rule = rules.lookup(ids[i], ids[i + 1])
            ranks.append(rule?.rank ?? .max)
            merged.append(rule?.merged ?? -1)
        }
        var count = ids.count
        while count > 1 {
            var best = Int32.max
            var at = -1
            for i in 0..<(count - 1) where ranks[i] < best {
                best = ranks[i]
                at = i
            }
            if at < 0 { break }
            ids[at] = merged[at]
            ids.remove(at: at + 1)
            ranks.remove(at: at)
            merged.remove(at: at)
            count -= 1
            if at < count - 1 {
                let rule = rules.lookup(ids[at], ids[at + 1])
                ranks[at] = rule?.rank ?? .max
                merged[at] = rule?.merged ?? -1
            }
            if at > 0 {
                let rule = rules.lookup(ids[at - 1], ids[at])
                ranks[at - 1] = rule?.rank ?? .max
                merged[at - 1] = rule?.merged ?? -1
            }
        }
        output.append(contentsOf: ids[0..<count])
    }

    mutating func mergeWithHeap(_ initial: UnsafeBufferPointer<Int32>, rules: MergeTable, into output: inout [Int32]) {
        let n = initial.count
        ids.removeAll(keepingCapacity: true)
        ids.append(contentsOf: initial)
        next.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        for i in 0..<n {
            prev.append(Int32(i - 1))
            next.append(i + 1 < n ? Int32(i + 1) : -1)
        }
        heap.removeAll(keepingCapacity: true)
        for i in 0..<(n - 1) { push(left: Int32(i), right: Int32(i + 1), rules: rules) }

        // A dead symbol (absorbed by its left neighbour) has id -1.
        while let candidate = pop() {
            let left = Int(candidate.left)
            let right = Int(candidate.right)
            guard ids[left] == candidate.leftID, ids[right] == candidate.rightID, next[left] == candidate.right else { continue }
            ids[left] = candidate.merged
            ids[right] = -1
            let after = next[right]
            next[left] = after
            if after >= 0 { prev[Int(after)] = candidate.left }
            if prev[left] >= 0 { push(left: prev[left], right: candidate.left, rules: rules) }
            if after >= 0 { push(left: candidate.left, right: after, rules: rules) }
        }
        var i: Int32 = 0
        while i >= 0 {
            output.append(ids[Int(i)])
            i = next[Int(i)]
        }
    }

    private mutating func push(left: Int32, right: Int32, rules: MergeTable) {
        let leftID = ids[Int(left)]
        let rightID = ids[Int(right)]
        guard let rule = rules.lookup(leftID, rightID) else { return }
        heap.append(Candidate(rank: rule.rank, left: left, right: right, leftID: leftID, rightID: rightID, merged: rule.merged))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func pop() -> Candidate? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return top }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].precedes(heap[smallest]) { smallest = left }
            if right < heap.count, heap[right].precedes(heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
