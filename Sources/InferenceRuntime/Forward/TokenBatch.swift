/// Tokens for one forward pass. Each token belongs to a sequence of the KV cache at a position;
/// a sequence's tokens are consecutive in the batch with consecutive positions, starting at or
/// before the sequence's current length (earlier positions are overwritten). Each token runs
/// with its own LoRA adapter or none, so sequences with and without adapters share a pass.
struct TokenBatch {
    private(set) var tokens: [Int32] = []
    private(set) var positions: [Int] = []
    private(set) var sequences: [KVCache.SequenceID] = []
    /// Tokens whose next-token logits the caller wants.
    private(set) var wantsLogits: [Bool] = []
    private(set) var adapters: [LoRAAdapter?] = []

    var count: Int { tokens.count }
    var isEmpty: Bool { tokens.isEmpty }

    mutating func append(_ token: Int32, position: Int, sequence: KVCache.SequenceID, logits: Bool,
                         adapter: LoRAAdapter? = nil) {
        tokens.append(token)
        positions.append(position)
        sequences.append(sequence)
        wantsLogits.append(logits)
        adapters.append(adapter)
    }

    mutating func removeAll() {
        tokens.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        sequences.removeAll(keepingCapacity: true)
        wantsLogits.removeAll(keepingCapacity: true)
        adapters.removeAll(keepingCapacity: true)
    }
}
