import Testing
@testable import InferenceRuntime

/// The element-wise kernels of every SIMD set against the portable ones, bit for bit (any NaN
/// counting as NaN), over adversarial inputs and lengths with every tail size.
@Suite struct ElementwiseTests {
    /// Extremes of exp's argument, half-precision rounding edges and non-finite values.
    static let special: [Float] = [
        0, -0.0, 1, -1, .infinity, -.infinity, .nan, -.nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        .leastNonzeroMagnitude, -.leastNormalMagnitude, 87.33654, 87.33655, -87.33655, 88.37, 88.38, 88.73, -88.73,
        103.97, 103.98, -103.98, 150, -150, 65504, 65519.99, 65520, -65520, 0x1p-24, 0x1.8p-25, 0x1p-25, 0x1.002p-14,
        1.00048828125, 1.000732421875, 2049, 2051, 0x1.ffep-15,
    ]

    /// A sweep over [-120, 120] in 24,000 steps, then the special values.
    static let inputs: [Float] = (0..<24_000).map { Float(-120) + Float($0) * 0.0100003 } + special

    static func same(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
    }

    @Test func siluMulMatchesThePortableKernel() {
        let gate = Self.inputs
        let up = gate.indices.map { [Float(1), -3.5, 0.25, .infinity, 0][$0 % 5] }
        var results = [KernelSet: [Float]]()
        for kernels in KernelSet.simdSets + [.portable] {
            var out = [Float](repeating: 7, count: gate.count)
            Elementwise.siluMul(gate, up, &out, count: gate.count, kernels: kernels)
            results[kernels] = out
        }
        for simd in KernelSet.simdSets { #expect(Self.same(results[simd]!, results[.portable]!), "\(simd)") }
        // Every tail length, and nothing written past the count.
        for count in 0...33 {
            for kernels in KernelSet.simdSets {
                var out = [Float](repeating: 7, count: 40), portable = out
                Elementwise.siluMul(gate, up, &out, count: count, kernels: kernels)
                Elementwise.siluMul(gate, up, &portable, count: count, kernels: .portable)
                #expect(Self.same(out, portable), "\(kernels) count=\(count)")
            }
        }
    }

    @Test func logSumExpMatchesThePortableKernel() {
        var rng = SyntheticRandom(seed: 11)
        var rows: [[Float]] = (1...40).map { n in (0..<n).map { _ in rng.float(20) } }
        rows.append((0..<49_153).map { _ in rng.float(30) })
        rows.append(Array(Self.inputs[0..<24_000]))
        rows.append([-.infinity, -200, 0])
        rows.append([.infinity, 1, 2])
        rows.append([-1e30, 1e30, 0.5])
        for row in rows {
            let portable = Elementwise.logSumExp(row, count: row.count, kernels: .portable)
            for kernels in KernelSet.simdSets {
                let simd = Elementwise.logSumExp(row, count: row.count, kernels: kernels)
                #expect(simd.bitPattern == portable.bitPattern || (simd.isNaN && portable.isNaN), "\(kernels) n=\(row.count)")
            }
        }
    }

    @Test func halfPrecisionConversionsMatchThePortableKernels() {
        var values = Self.inputs + Self.special.flatMap { [$0.nextUp, $0.nextDown] }
        // Every half and the midpoints next to it, where round-to-nearest-even decides.
        for bits in stride(from: UInt16(0), to: 0xFFFF, by: 7) {
            let h = Float(Float16(bitPattern: bits))
            values += [h, h.nextUp, h.nextDown]
        }
        for count in [values.count, 1, 7, 8, 9, 15, 16, 17, 31] {
            var portableRounded = Array(values[0..<count])
            Elementwise.roundToHalf(&portableRounded, count: count, kernels: .portable)
            var portableHalves = [UInt16](repeating: 0, count: count)
            Elementwise.toHalf(values, &portableHalves, count: count, kernels: .portable)
            for kernels in KernelSet.simdSets {
                var rounded = Array(values[0..<count])
                Elementwise.roundToHalf(&rounded, count: count, kernels: kernels)
                #expect(Self.same(rounded, portableRounded), "\(kernels) roundToHalf count=\(count)")
                var halves = [UInt16](repeating: 0, count: count)
                Elementwise.toHalf(values, &halves, count: count, kernels: kernels)
                let agree = zip(halves, portableHalves).allSatisfy {
                    $0 == $1 || (Float16(bitPattern: $0).isNaN && Float16(bitPattern: $1).isNaN)
                }
                #expect(agree, "\(kernels) toHalf count=\(count)")
            }
        }
    }
}
