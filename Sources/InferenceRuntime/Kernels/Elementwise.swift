import CKernels
import Foundation

/// Element-wise kernels of the forward pass, one row at a time.
enum Elementwise {
    /// out = silu(gate) * up.
    static func siluMul(_ gate: UnsafePointer<Float>, _ up: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                        count: Int, kernels: KernelSet) {
        switch kernels {
        case .avx512:
            ck_silu_mul_avx512(gate, up, out, Int32(count))
        case .avx2:
            ck_silu_mul_avx2(gate, up, out, Int32(count))
        case .portable:
            for i in 0..<count {
                let g = gate[i]
                out[i] = g / (1 + ReferenceKernels.exp(0 - g)) * up[i]
            }
        }
    }

    /// log(sum(exp(x))) over `count` logits (the normalizer of a log-softmax).
    static func logSumExp(_ x: UnsafePointer<Float>, count: Int, kernels: KernelSet) -> Double {
        switch kernels {
        case .avx512:
            return ck_log_sum_exp_avx512(x, Int32(count))
        case .avx2:
            return ck_log_sum_exp_avx2(x, Int32(count))
        case .portable:
            var m = -Float.infinity
            for i in 0..<count { m = max(m, x[i]) }
            var sum = 0.0
            for tile in stride(from: 0, to: count, by: 16) {
                var e = SIMD16<Float>()
                for l in 0..<min(16, count - tile) { e[l] = ReferenceKernels.exp(x[tile + l] - m) }
                sum += Double(ReferenceKernels.laneSum(e))
            }
            return Double(m) + Foundation.log(sum)
        }
    }

    /// Rounds each float to the nearest half precision value, in place.
    static func roundToHalf(_ x: UnsafeMutablePointer<Float>, count: Int, kernels: KernelSet) {
        switch kernels {
        case .avx512:
            ck_round_to_half_avx512(x, Int32(count))
        case .avx2:
            ck_round_to_half_avx2(x, Int32(count))
        case .portable:
            for i in 0..<count { x[i] = Float(Float16(x[i])) }
        }
    }

    /// IEEE half of each float (round to nearest even).
    static func toHalf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt16>, count: Int, kernels: KernelSet) {
        switch kernels {
        case .avx512:
            ck_f32_to_f16_avx512(x, y, Int32(count))
        case .avx2:
            ck_f32_to_f16_avx2(x, y, Int32(count))
        case .portable:
            for i in 0..<count { y[i] = Float16(x[i]).bitPattern }
        }
    }

    /// y = x / sqrt(mean(x²) + epsilon) * weight, with the sum of squares in double as in ggml.
    static func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
                        _ y: UnsafeMutablePointer<Float>, count: Int) {
        var sum = 0.0
        for i in 0..<count { sum += Double(x[i] * x[i]) }
        let mean = Float(sum / Double(count))
        let scale = 1 / (mean + epsilon).squareRoot()
        for i in 0..<count { y[i] = (x[i] * scale) * weight[i] }
    }
}
