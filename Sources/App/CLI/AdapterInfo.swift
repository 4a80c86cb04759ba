import Foundation
import InferenceRuntime

/// The adapter part of `popi model info ADAPTER.gguf [--base MODEL.gguf]`: what a LoRA adapter
/// file holds and, given its base model, that it fits it, whether B is still zero (untrained) and
/// how far it moves each projection.
struct AdapterInfo {
    let file: LoRAAdapterFile

    func print(base: (path: String, config: LlamaConfig)?) throws {
        let pairs = file.pairs
        Swift.print("adapter     LoRA for \(file.architecture), alpha \(file.alpha)" + (file.alpha == 0 ? " (0 or absent: scale 1)" : ""))
        let ranks = Set(pairs.map(\.rank)).sorted()
        let scales = ranks.map { file.alpha == 0 ? 1 : file.alpha / Float($0) }
        if !ranks.isEmpty {
            Swift.print("rank        \(ranks.map(String.init).joined(separator: ", ")), scale \(scales.map { "\($0)" }.joined(separator: ", "))")
        }
        Swift.print("adapted     \(pairs.count) projections")
        for projection in LoRAProjection.allCases {
            let layers = pairs.filter { $0.projection == projection }.map(\.layer)
            guard !layers.isEmpty else { continue }
            Swift.print("  \(projection.tensorName.padding(toLength: 12, withPad: " ", startingAt: 0)) layers \(Self.ranges(layers))")
        }
        let types = Set(pairs.flatMap { [$0.a.type, $0.b.type] }).map(\.description).sorted()
        Swift.print("parameters  \(pairs.reduce(0) { $0 + $1.parameterCount })" + (types.isEmpty ? "" : " (\(types.joined(separator: ", ")))"))

        guard let base else {
            Swift.print("base        not given: add --base MODEL.gguf to check the adapter against its base model, "
                        + "see whether B is still zero and the size of each projection's update")
            return
        }
        let adapter = try file.adapter(base: base.config)
        Swift.print("base        \(base.path): fits (\(base.config.architecture), \(base.config.blockCount) layers, shapes and values checked)")
        let bIsZero = adapter.layout.slots.allSatisfy { slot in (0..<slot.bCount).allSatisfy { adapter.b(slot)[$0] == 0 } }
        Swift.print("B           " + (bIsZero ? "all zero: untrained, the adapter changes nothing" : "not zero: trained"))
        Swift.print("update      ‖scale·B·A‖ (Frobenius), summed over each projection's layers")
        for projection in LoRAProjection.allCases {
            let slots = adapter.layout.slots.filter { $0.projection == projection }
            guard !slots.isEmpty else { continue }
            let norm = slots.reduce(0.0) { $0 + Double(adapter.scale($1)) * Self.productNorm(adapter, $1) }
            Swift.print("  \(projection.tensorName.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(format: "%.6g", norm))")
        }
    }

    /// ‖B·A‖ (Frobenius) without forming B·A: its square is Σ (A·Aᵀ ∘ Bᵀ·B), two rank × rank
    /// Gram matrices.
    private static func productNorm(_ adapter: LoRAAdapter, _ slot: LoRALayout.Slot) -> Double {
        let a = adapter.a(slot), b = adapter.b(slot), r = slot.rank
        var sum = 0.0
        for i in 0..<r {
            for j in i..<r {
                var aa = 0.0, bb = 0.0
                for k in 0..<slot.inputs { aa += Double(a[i * slot.inputs + k]) * Double(a[j * slot.inputs + k]) }
                for o in 0..<slot.outputs { bb += Double(b[o * r + i]) * Double(b[o * r + j]) }
                sum += (i == j ? 1 : 2) * aa * bb
            }
        }
        return max(0, sum).squareRoot()
    }

    /// Sorted layer numbers as "0-3, 7, 9-10".
    static func ranges(_ layers: [Int]) -> String {
        var parts: [String] = []
        var start = layers[0], end = layers[0]
        for layer in layers.dropFirst() + [Int.min] {
            if layer == end + 1 {
                end = layer
                continue
            }
            parts.append(start == end ? "\(start)" : "\(start)-\(end)")
            start = layer
            end = layer
        }
        return parts.joined(separator: ", ")
    }
}
