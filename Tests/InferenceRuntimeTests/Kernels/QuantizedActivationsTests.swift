import Testing
@testable import InferenceRuntime

/// Activation quantization of every SIMD set against the portable one, byte for byte, for row
/// widths with and without full groups and a half-empty tail pair.
@Suite struct QuantizedActivationsTests {
    static func quantized(_ x: [Float], k: Int, rows: Int, kernels: KernelSet) -> [UInt8] {
        let activations = QuantizedActivations(columns: k, capacity: rows)
        x.withUnsafeBufferPointer { activations.quantize($0.baseAddress!, xStride: k, rows: 0, count: rows, kernels: kernels) }
        return Array(UnsafeRawBufferPointer(start: activations.base, count: rows * activations.rowStride))
    }

    @Test(arguments: [32, 64, 480, 544, 576, 1536])
    func adversarialBlocksQuantizeAlike(k: Int) {
        var rng = SyntheticRandom(seed: UInt64(k))
        let rows = 6
        var x = [Float](repeating: 0, count: rows * k)
        for b in 0..<(rows * k / 32) {
            let block = b * 32
            for i in 0..<32 {
                x[block + i] = switch b % 8 {
                case 0: rng.float(1)
                // amax 127: the scale is exactly 1 and halves are ties, rounded to even.
                case 1: i == 0 ? 127 : Float(rng.int(-127...126)) + 0.5
                case 2: rng.float(1e-38)  // 127 / amax overflows
                case 3: i == 5 ? .nan : rng.float(3)
                case 4: i == 9 ? -.infinity : rng.float(3)
                case 5: i == 0 ? .greatestFiniteMagnitude : rng.float(1e30)
                case 6: rng.float(1e6) * Float(i % 3)  // amax / 127 overflows a half
                default: 0
                }
            }
        }
        let portable = Self.quantized(x, k: k, rows: rows, kernels: .portable)
        for kernels in KernelSet.simdSets {
            #expect(Self.quantized(x, k: k, rows: rows, kernels: kernels) == portable, "\(kernels) k=\(k)")
        }
    }
}
