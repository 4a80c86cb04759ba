import Foundation
@testable import InferenceRuntime

/// A Llama forward pass in double precision, written for the tests independently of the
/// runtime: one sequence at a time, plain loops, LoRA applied as y = W·x + scale·B·(A·x).
struct ReferenceLlama {
    let config: LlamaConfig
    let weights: [String: [Double]]
    /// A and B of each adapted (layer, projection), with its scale.
    var adapter: [String: (a: [Double], b: [Double], rank: Int, scale: Double)] = [:]

    init(_ tiny: TinyLlama) {
        config = tiny.config
        weights = tiny.tensors.mapValues { $0.values.map(Double.init) }
    }

    mutating func setAdapter(_ lora: LoRAAdapter) {
        adapter = [:]
        for slot in lora.layout.slots {
            let a = (0..<slot.aCount).map { Double(lora.a(slot)[$0]) }
            let b = (0..<slot.bCount).map { Double(lora.b(slot)[$0]) }
            adapter[slot.baseTensorName] = (a, b, slot.rank, Double(lora.scale(slot)))
        }
    }

    private func tensors(_ name: String) -> [Double] { weights[name]! }

    private func project(_ name: String, _ x: [Double], outputs: Int) -> [Double] {
        let w = tensors(name), inputs = x.count
        var y = (0..<outputs).map { o in (0..<inputs).reduce(0.0) { $0 + w[o * inputs + $1] * x[$1] } }
        if let lora = adapter[name] {
            let t = (0..<lora.rank).map { r in (0..<inputs).reduce(0.0) { $0 + lora.a[r * inputs + $1] * x[$1] } }
            for o in 0..<outputs {
                y[o] += lora.scale * (0..<lora.rank).reduce(0.0) { $0 + lora.b[o * lora.rank + $1] * t[$1] }
            }
        }
        return y
    }

    private func rmsNorm(_ x: [Double], _ name: String) -> [Double] {
        let w = tensors(name)
        let r = 1 / ((x.reduce(0) { $0 + $1 * $1 } / Double(x.count)) + Double(config.rmsEpsilon)).squareRoot()
        return x.indices.map { x[$0] * r * w[$0] }
    }

    /// Angles as the runtime computes them (θ by repeated f32 multiplication).
    private func rotate(_ v: inout [Double], heads: Int, position: Int) {
        let hd = config.headDimension
        let scale = Foundation.pow(config.ropeFreqBase, -2 / Float(config.ropeDimensionCount))
        var theta = Float(position)
        for i in 0..<(config.ropeDimensionCount / 2) {
            let angle = Double(theta)
            for h in 0..<heads {
                let x0 = v[h * hd + 2 * i], x1 = v[h * hd + 2 * i + 1]
                v[h * hd + 2 * i] = x0 * cos(angle) - x1 * sin(angle)
                v[h * hd + 2 * i + 1] = x0 * sin(angle) + x1 * cos(angle)
            }
            theta *= scale
        }
    }

    /// log p(tokens[k] | tokens[..<k]) for k in `predicted`.
    func logprobs(_ tokens: [Int32], predicted: Range<Int>) -> [Double] {
        let d = config.embeddingLength, hd = config.headDimension, heads = config.headCount
        let kvHeads = config.headCountKV, group = config.groupSize, hidden = config.feedForwardLength
        let embedding = tensors("token_embd.weight")
        var x = tokens.map { t in Array(embedding[(Int(t) * d)..<(Int(t) * d + d)]) }
        for l in 0..<config.blockCount {
            let p = "blk.\(l)."
            var qs: [[Double]] = [], ks: [[Double]] = [], vs: [[Double]] = []
            for t in tokens.indices {
                let xb = rmsNorm(x[t], p + "attn_norm.weight")
                var q = project(p + "attn_q.weight", xb, outputs: heads * hd)
                var k = project(p + "attn_k.weight", xb, outputs: kvHeads * hd)
                rotate(&q, heads: heads, position: t)
                rotate(&k, heads: kvHeads, position: t)
                qs.append(q)
                ks.append(k)
                vs.append(project(p + "attn_v.weight", xb, outputs: kvHeads * hd))
            }
            for t in tokens.indices {
                var att = [Double](repeating: 0, count: heads * hd)
                for a in 0..<heads {
                    let h = a / group
                    let scores = (0...t).map { s in
                        (0..<hd).reduce(0.0) { $0 + qs[t][a * hd + $1] * ks[s][h * hd + $1] } / Double(hd).squareRoot()
                    }
                    let m = scores.max()!
                    let e = scores.map { Foundation.exp($0 - m) }
                    let sum = e.reduce(0, +)
                    for s in 0...t {
                        for j in 0..<hd { att[a * hd + j] += e[s] / sum * vs[s][h * hd + j] }
                    }
                }
                let o = project(p + "attn_output.weight", att, outputs: d)
                for j in 0..<d { x[t][j] += o[j] }
                let xb = rmsNorm(x[t], p + "ffn_norm.weight")
                let g = project(p + "ffn_gate.weight", xb, outputs: hidden)
                let u = project(p + "ffn_up.weight", xb, outputs: hidden)
                let h = g.indices.map { g[$0] / (1 + Foundation.exp(-g[$0])) * u[$0] }
                let down = project(p + "ffn_down.weight", h, outputs: d)
                for j in 0..<d { x[t][j] += down[j] }
            }
        }
        return predicted.map { k in
            let xf = rmsNorm(x[k - 1], "output_norm.weight")
            let logits = (0..<config.vocabularySize).map { v in (0..<d).reduce(0.0) { $0 + embedding[v * d + $1] * xf[$1] } }
            let m = logits.max()!
            let lse = m + Foundation.log(logits.reduce(0) { $0 + Foundation.exp($1 - m) })
            return logits[Int(tokens[k])] - lse
        }
    }

    /// Log-probabilities of a training batch's continuation tokens, in the trainer's order.
    func logprobs(_ batch: TrainingBatch) -> [Double] {
        batch.groups.flatMap { group in
            group.continuations.flatMap { continuation in
                logprobs(group.prompt + continuation, predicted: group.prompt.count..<(group.prompt.count + continuation.count))
            }
        }
    }
}
