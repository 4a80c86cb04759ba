import Foundation

/// Picks each next token of one sequence from its logits (see SamplingParameters for the order
/// of operations). Holds the sequence's generator and recent tokens; scratch is allocated once.
struct Sampler {
    let parameters: SamplingParameters
    /// Temperatures below this are greedy: 1/temperature must stay finite (an infinite one makes
    /// the top token's weight 0 × ∞ = NaN), and so small a temperature picks the top token anyway.
    static let greedyBelowTemperature: Float = 1e-30
    private var random: RandomGenerator
    /// Last `penaltyWindow` tokens, oldest first.
    private var recent: [Int32] = []
    private var adjusted: [Float]
    private var candidates: [Int32] = []
    private var weights: [Float] = []
    private var counts: [(token: Int32, count: Int)] = []

    init(parameters: SamplingParameters, seed: UInt64, vocabularySize: Int, history: [Int32]) {
        self.parameters = parameters
        random = RandomGenerator(seed: seed)
        adjusted = [Float](repeating: 0, count: vocabularySize)
        recent = Array(history.suffix(parameters.penaltyWindow))
    }

    /// Records a token the sequence now contains (for penalties).
    mutating func accept(_ token: Int32) {
        guard parameters.penaltyWindow > 0 else { return }
        if recent.count == parameters.penaltyWindow { recent.removeFirst() }
        recent.append(token)
    }

    mutating func sample(_ logits: UnsafePointer<Float>) -> Int32 {
        let vocabulary = adjusted.count
        adjusted.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: logits, count: vocabulary) }
        applyPenalties()
        if parameters.temperature < Self.greedyBelowTemperature { return argmax() }
        return draw()
    }

    private mutating func applyPenalties() {
        let p = parameters
        guard !recent.isEmpty, p.repetitionPenalty != 1 || p.frequencyPenalty != 0 || p.presencePenalty != 0 else { return }
        counts.removeAll(keepingCapacity: true)
        for token in recent {
            if let i = counts.firstIndex(where: { $0.token == token }) { counts[i].count += 1 } else { counts.append((token, 1)) }
        }
        for (token, count) in counts where Int(token) < adjusted.count {
            var logit = adjusted[Int(token)]
            logit = logit > 0 ? logit / p.repetitionPenalty : logit * p.repetitionPenalty
            logit -= Float(count) * p.frequencyPenalty + p.presencePenalty
            adjusted[Int(token)] = logit
        }
    }

    /// Index of the first largest of `count` logits.
    static func argmax(_ logits: UnsafePointer<Float>, count: Int) -> Int32 {
        var best = 0
        for i in 1..<count where logits[i] > logits[best] { best = i }
        return Int32(best)
    }

    private func argmax() -> Int32 {
        adjusted.withUnsafeBufferPointer { Self.argmax($0.baseAddress!, count: $0.count) }
    }

    private mutating func draw() -> Int32 {
        let p = parameters
        let maxLogit = adjusted.max()!
        let inverseTemperature = 1 / p.temperature
        // Weight of a token relative to the most likely one (which has weight 1), at the temperature.
        func weight(_ i: Int) -> Float { Foundation.exp((adjusted[i] - maxLogit) * inverseTemperature) }

        candidates.removeAll(keepingCapacity: true)
        if p.topK > 0, p.topK < adjusted.count {
            selectTopK(p.topK)
        } else if p.topP == 1 {
            // Only min-p can drop tokens: no order needed.
            for i in 0..<adjusted.count where weight(i) >= p.minP { candidates.append(Int32(i)) }
        } else {
            // Tokens below the cut-off cannot be in the top-p set unless the heavier ones fall
            // short of p, in which case the cut-off is lowered and they are collected again.
            var cutoff: Float = 1e-4
            while true {
                candidates.removeAll(keepingCapacity: true)
                var total: Float = 0, kept: Float = 0
                for i in 0..<adjusted.count {
                    let w = weight(i)
                    total += w
                    if w >= cutoff {
                        candidates.append(Int32(i))
                        kept += w
                    }
                }
                if cutoff == 0 || kept >= p.topP * total { break }
                cutoff = cutoff < 1e-30 ? 0 : cutoff / 64
            }
        }
        if p.topP < 1 {
            // Most likely first; ties by id so the order is deterministic.
            candidates.sort { adjusted[Int($0)] != adjusted[Int($1)] ? adjusted[Int($0)] > adjusted[Int($1)] : $0 < $1 }
        }
        weights.removeAll(keepingCapacity: true)
        var total: Float = 0
        for token in candidates {
            let w = weight(Int(token))
            weights.append(w)
            total += w
        }
        var keep = candidates.count
        if p.topP < 1 {
            var cumulative: Float = 0
            for (i, w) in weights.enumerated() {
                cumulative += w
                if cumulative >= p.topP * total {
                    keep = i + 1
                    break
                }
            }
        }
        var mass: Float = 0
        var kept = 0
        for i in 0..<keep where weights[i] >= p.minP {
            candidates[kept] = candidates[i]
            weights[kept] = weights[i]
            mass += weights[i]
            kept += 1
        }
        // Finite logits always keep the top token (weight 1); non-finite ones give NaN weights,
        // which no filter keeps, or only zero weights, which cannot be drawn from.
        guard mass > 0 else { return argmax() }
        var target = Float(random.nextUnit()) * mass
        for i in 0..<kept {
            target -= weights[i]
            if target < 0 { return candidates[i] }
        }
        return candidates[kept - 1]
    }

    /// candidates = the k tokens with the largest logits (any order).
    private mutating func selectTopK(_ k: Int) {
        // A min-heap of the best k seen so far, keyed by logit then id.
        func less(_ a: Int32, _ b: Int32) -> Bool {
            adjusted[Int(a)] != adjusted[Int(b)] ? adjusted[Int(a)] < adjusted[Int(b)] : a > b
        }
        func siftDown(_ start: Int) {
            var i = start
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < candidates.count, less(candidates[l], candidates[smallest]) { smallest = l }
                if r < candidates.count, less(candidates[r], candidates[smallest]) { smallest = r }
                if smallest == i { return }
                candidates.swapAt(i, smallest)
                i = smallest
            }
        }
        for i in 0..<k { candidates.append(Int32(i)) }
        for i in stride(from: k / 2 - 1, through: 0, by: -1) { siftDown(i) }
        for i in k..<adjusted.count where less(candidates[0], Int32(i)) {
            candidates[0] = Int32(i)
            siftDown(0)
        }
    }
}
