import CKernels

/// Keys and values of every sequence the runtime holds, in f16 pages of `pagePositions`
/// positions shared between sequences: forking a sequence after a common prefix (best-of-N
/// samples, several responses to score after one prompt) shares the prefix's pages, and a
/// shared page is copied only when a sequence writes into it. Truncating a sequence drops its
/// pages past the new end.
///
/// Page layout, for each layer l and KV head h in order: key tiles ([pagePositions / 16][headDim][16]
/// halves, see CKernels.h), then value rows ([pagePositions][headDim] halves).
final class KVCache {
    typealias SequenceID = Int

    let layerCount: Int
    let kvHeadCount: Int
    let headDimension: Int
    let pagePositions: Int
    /// Longest sequence (the model's context length).
    let maxPositions: Int
    /// Pages the cache may hold at once (all sequences together).
    let pageLimit: Int
    let pageBytes: Int

    /// Mutated in place through `sequences[id]!` (a copy would share `pages`, so the next append
    /// would copy the array).
    private struct Sequence {
        var pages: [Int]
        var length = 0
        /// Page base pointers for the kernels, kept in step with `pages`.
        let pointers: UnsafeMutablePointer<UnsafePointer<UInt8>?>
    }

    private var sequences: [SequenceID: Sequence] = [:]
    private var nextID = 0
    private var pages: [AlignedBuffer?] = []
    private var referenceCounts: [Int] = []
    private var freeSlots: [Int] = []

    static let defaultPagePositions = 64

    static func pageBytes(config: LlamaConfig, pagePositions: Int) -> Int {
        config.blockCount * config.headCountKV * 2 * pagePositions * config.headDimension * 2
    }

    /// `extraPositions` come on top of `maxCachedPositions` (the prefix cache's budget).
    init(config: LlamaConfig, pagePositions: Int = defaultPagePositions, maxCachedPositions: Int? = nil, extraPositions: Int = 0) {
        precondition(pagePositions % 16 == 0)
        layerCount = config.blockCount
        kvHeadCount = config.headCountKV
        headDimension = config.headDimension
        self.pagePositions = pagePositions
        maxPositions = config.contextLength
        let limit = (maxCachedPositions ?? 4 * config.contextLength) + extraPositions
        pageLimit = max(1, (limit + pagePositions - 1) / pagePositions)
        pageBytes = Self.pageBytes(config: config, pagePositions: pagePositions)
    }

    deinit {
        for sequence in sequences.values { sequence.pointers.deallocate() }
    }

    var pagesInUse: Int { pages.count - freeSlots.count }

    // MARK: Sequences

    func create() -> SequenceID {
        let id = nextID
        nextID += 1
        let maxPages = (maxPositions + pagePositions - 1) / pagePositions
        let pointers = UnsafeMutablePointer<UnsafePointer<UInt8>?>.allocate(capacity: maxPages)
        pointers.initialize(repeating: nil, count: maxPages)
        var pages: [Int] = []
        pages.reserveCapacity(maxPages)
        sequences[id] = Sequence(pages: pages, pointers: pointers)
        return id
    }

    /// A new sequence holding the first `length` positions of `id` (default: all), sharing pages.
    func fork(_ id: SequenceID, length: Int? = nil) -> SequenceID {
        let source = sequences[id]!
        let keep = min(length ?? source.length, source.length)
        let child = create()
        let pageCount = (keep + pagePositions - 1) / pagePositions
        for index in 0..<pageCount {
            let page = source.pages[index]
            referenceCounts[page] += 1
            sequences[child]!.pages.append(page)
            sequences[child]!.pointers[index] = UnsafePointer(pages[page]!.bytes())
        }
        sequences[child]!.length = keep
        return child
    }

    func length(of id: SequenceID) -> Int { sequences[id]!.length }

    /// Forgets positions from `length` on.
    func truncate(_ id: SequenceID, to length: Int) {
        guard let current = sequences[id]?.length, length < current else { return }
        truncateLength(&sequences[id]!, to: length)
    }

    func remove(_ id: SequenceID) {
        guard let sequence = sequences.removeValue(forKey: id) else { return }
        for page in sequence.pages { release(page: page) }
        sequence.pointers.deallocate()
    }

    /// Makes positions `start..<end` of `id` writable (allocating pages, copying shared ones) and
    /// sets its length to `end`. `start` must not exceed the current length.
    func prepareWrite(_ id: SequenceID, from start: Int, to end: Int) throws(InferenceError) {
        guard sequences[id] != nil else { preconditionFailure("unknown sequence \(id)") }
        try prepareWrite(&sequences[id]!, from: start, to: end)
    }

    private func prepareWrite(_ sequence: inout Sequence, from start: Int, to end: Int) throws(InferenceError) {
        precondition(start <= sequence.length && start <= end)
        guard end <= maxPositions else { throw .contextOverflow(needed: end, limit: maxPositions) }
        if start < sequence.length { truncateLength(&sequence, to: start) }
        let firstPage = start / pagePositions
        let lastPage = (end - 1) / pagePositions
        if end > start {
            for index in firstPage...lastPage {
                if index == sequence.pages.count {
                    let page = try allocate()
                    sequence.pages.append(page)
                } else if referenceCounts[sequence.pages[index]] > 1 {
                    let shared = sequence.pages[index]
                    let page = try allocate()
                    pages[page]!.pointer.copyMemory(from: pages[shared]!.pointer, byteCount: pageBytes)
                    release(page: shared)
                    sequence.pages[index] = page
                }
                sequence.pointers[index] = UnsafePointer(pages[sequence.pages[index]]!.bytes())
            }
        }
        sequence.length = max(sequence.length, end)
    }

    private func truncateLength(_ sequence: inout Sequence, to length: Int) {
        let keepPages = (length + pagePositions - 1) / pagePositions
        while sequence.pages.count > keepPages {
            release(page: sequence.pages.removeLast())
            sequence.pointers[sequence.pages.count] = nil
        }
        sequence.length = length
    }

    // MARK: Access

    /// Byte offsets of layer `layer`, KV head `head` inside a page.
    func offsets(layer: Int, head: Int) -> (key: Int, value: Int) {
        let key = (layer * kvHeadCount + head) * 2 * pagePositions * headDimension * 2
        return (key, key + pagePositions * headDimension * 2)
    }

    /// The kernels' view of one layer and head of a sequence (valid until the sequence changes).
    func view(_ id: SequenceID, layer: Int, head: Int) -> ck_kv_view {
        let (key, value) = offsets(layer: layer, head: head)
        return ck_kv_view(pages: UnsafePointer(sequences[id]!.pointers), pagePositions: Int32(pagePositions),
                          headDim: Int32(headDimension), keyOffset: key, valueOffset: value)
    }

    /// Page base for `position` of a sequence (prepared for writing).
    func pageBase(_ id: SequenceID, position: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(mutating: sequences[id]!.pointers[position / pagePositions]!)
    }

    /// Stores the key and value (`kvHeadCount * headDimension` halves each) of `position`.
    func store(_ id: SequenceID, position: Int, layer: Int, keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>) {
        let base = pageBase(id, position: position)
        let slot = position % pagePositions
        let tile = slot / 16, lane = slot % 16
        for head in 0..<kvHeadCount {
            let (keyOffset, valueOffset) = offsets(layer: layer, head: head)
            let keyTile = (base + keyOffset).assumingMemoryBound(to: UInt16.self) + tile * headDimension * 16
            let source = keys + head * headDimension
            for d in 0..<headDimension { keyTile[d * 16 + lane] = source[d] }
            let valueRow = (base + valueOffset).assumingMemoryBound(to: UInt16.self) + slot * headDimension
            valueRow.update(from: values + head * headDimension, count: headDimension)
        }
    }

    // MARK: Pages

    private func allocate() throws(InferenceError) -> Int {
        if let slot = freeSlots.popLast() {
            pages[slot] = AlignedBuffer(byteCount: pageBytes)
            referenceCounts[slot] = 1
            return slot
        }
        guard pages.count < pageLimit else { throw .cacheFull(positions: pageLimit * pagePositions) }
        pages.append(AlignedBuffer(byteCount: pageBytes))
        referenceCounts.append(1)
        return pages.count - 1
    }

    private func release(page: Int) {
        referenceCounts[page] -= 1
        if referenceCounts[page] == 0 {
            pages[page] = nil
            freeSlots.append(page)
        }
    }
}
