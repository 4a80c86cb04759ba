import Foundation

/// RoPE as llama.cpp applies it to Llama files: adjacent pairs (x[2i], x[2i+1]) of each head's
/// first `dimensionCount` values rotated by position × θᵢ.
struct RotaryEmbedding {
    let dimensionCount: Int
    let headDimension: Int
    let frequencyBase: Float
    /// Per-pair divisors of θᵢ (Llama 3.1 style), or nil.
    let frequencyFactors: [Float]?

    init(config: LlamaConfig) {
        dimensionCount = config.ropeDimensionCount
        headDimension = config.headDimension
        frequencyBase = config.ropeFreqBase
        frequencyFactors = config.ropeFrequencyFactors
    }

    /// cos and sin of position × θᵢ for each rotated pair i (`dimensionCount` floats),
    /// θᵢ = base^(-2i/dimensionCount) computed as llama.cpp does (repeated multiplication).
    func fill(position: Int, into table: UnsafeMutablePointer<Float>) {
        let thetaScale = Foundation.pow(frequencyBase, -2 / Float(dimensionCount))
        var theta = Float(position)
        for i in 0..<(dimensionCount / 2) {
            let angle = frequencyFactors.map { theta / $0[i] } ?? theta
            table[2 * i] = Foundation.cos(angle)
            table[2 * i + 1] = Foundation.sin(angle)
            theta *= thetaScale
        }
    }

    /// Rotates each of `heads` heads of `v` by the angles in `table`.
    func rotate(_ v: UnsafeMutablePointer<Float>, heads: Int, table: UnsafePointer<Float>) {
        rotate(v, heads: heads, table: table, direction: 1)
    }

    /// The inverse rotation, which is also the transpose: it carries gradients back through `rotate`.
    func rotateBack(_ v: UnsafeMutablePointer<Float>, heads: Int, table: UnsafePointer<Float>) {
        rotate(v, heads: heads, table: table, direction: -1)
    }

    /// Rotation by the table's angles times `direction` (1 or -1): sin(-a) = -sin(a) and
    /// cos(-a) = cos(a), and negating a product is exact, so both directions round as written out.
    private func rotate(_ v: UnsafeMutablePointer<Float>, heads: Int, table: UnsafePointer<Float>, direction: Float) {
        for h in 0..<heads {
            let head = v + h * headDimension
            for i in 0..<(dimensionCount / 2) {
                let cos = table[2 * i], sin = direction * table[2 * i + 1]
                let x0 = head[2 * i], x1 = head[2 * i + 1]
                head[2 * i] = x0 * cos - x1 * sin
                head[2 * i + 1] = x0 * sin + x1 * cos
            }
        }
    }
}
