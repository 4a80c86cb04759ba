import Testing
@testable import InferenceRuntime

@Suite struct MatMulTests {
    static let kernelSets = KernelSet.allCases.filter { KernelSet.isSupported($0) }

    /// Runs y = x · Wᵀ over all rows of `w` for `m` rows of `x`, in row chunks of `chunk`.
    static func run(_ w: PackedMatrix, _ x: [Float], m: Int, kernels: KernelSet, chunk: Int? = nil,
                    addingTo initial: [Float]? = nil) -> [Float] {
        let k = w.columns
        let activations = QuantizedActivations(columns: k, capacity: max(m, 1))
        var y = initial ?? [Float](repeating: .nan, count: m * w.rows)
        let scratch = KernelScratch(maxColumns: k)
        x.withUnsafeBufferPointer { xp in
            activations.quantize(xp.baseAddress!, xStride: k, rows: 0, count: m, kernels: kernels)
            let input = MatMulInput(floats: xp.baseAddress!, floatStride: k, quantized: activations, rows: m)
            y.withUnsafeMutableBufferPointer { yp in
                var start = 0
                while start < w.rows {
                    let end = min(w.rows, start + (chunk ?? w.rows))
                    MatMul.multiply(w, rows: start..<end, input: input, y: yp.baseAddress!, yStride: w.rows,
                                    accumulate: initial != nil, scratch: scratch, kernels: kernels)
                    start = end
                }
            }
        }
        return y
    }

    static func activations(m: Int, k: Int, seed: UInt64) -> [Float] {
        var rng = SyntheticRandom(seed: seed)
        return (0..<(m * k)).map { i in i % 97 == 0 ? 0 : rng.float(3) }
    }

    /// Double-precision reference. Float-path types: dequantized weights times the activations.
    /// Int8 types: per block, from the file's own block fields and the activations quantized as
    /// llama.cpp does (q = round(x * 127 / amax), d and s = d * sum(q) kept as halves):
    /// d_w * d_a * sum(q_w * q_a) + m_w * s.
    static func expected(_ w: PackedMatrix, _ tensor: SyntheticTensor, _ x: [Float], m: Int) -> [Double] {
        let k = w.columns
        var result = [Double](repeating: 0, count: m * w.rows)
        guard MatMul.readsQuantized(w) else {
            var row = [Float](repeating: 0, count: k)
            for n in 0..<w.rows {
                row.withUnsafeMutableBufferPointer { w.dequantizeRow(n, into: $0.baseAddress!) }
                for r in 0..<m {
                    var s = 0.0
                    for i in 0..<k { s += Double(row[i]) * Double(x[r * k + i]) }
                    result[r * w.rows + n] = s
                }
            }
            return result
        }
        let half = { (v: Float) in Double(Float(Float16(v))) }
        let raw = tensor.bytes
        func f16(_ offset: Int) -> Double {
            Double(Float(Float16(bitPattern: UInt16(raw[offset]) | UInt16(raw[offset + 1]) << 8)))
        }
        for r in 0..<m {
            for b in 0..<(k / 32) {
                let block = (0..<32).map { x[r * k + b * 32 + $0] }
                let amax = block.map { abs($0) }.max()!
                let qa = block.map { amax == 0 ? 0 : Int(($0 * (127 / amax)).rounded(.toNearestOrEven)) }
                let da = half(amax / 127), sa = half((amax / 127) * Float(qa.reduce(0, +)))
                for n in 0..<w.rows {
                    let blockIndex = n * (k / 32) + b
                    var dot = 0.0
                    switch tensor.type {
                    case .q8_0:
                        let base = blockIndex * 34
                        for i in 0..<32 { dot += Double(Int8(bitPattern: raw[base + 2 + i])) * Double(qa[i]) }
                        dot *= f16(base) * da
                    case .q4_0, .q4_1:
                        let size = tensor.type == .q4_0 ? 18 : 20, base = blockIndex * size
                        let qs = base + size - 16
                        var isum = 0
                        for i in 0..<16 {
                            isum += Int(raw[qs + i] & 0x0F) * qa[i] + Int(raw[qs + i] >> 4) * qa[16 + i]
                        }
                        let d = f16(base), minimum = tensor.type == .q4_0 ? -8 * d : f16(base + 2)
                        dot = d * da * Double(isum) + minimum * sa
                    default:
                        fatalError("not an int8-path type")
                    }
                    result[r * w.rows + n] += dot
                }
            }
        }
        return result
    }

    @Test(arguments: [GGMLType.q4_1, .q4_0, .q8_0, .f32, .f16, .q6_K])
    func matchesDequantizedProductAndIsIndependentOfBatchAndSplit(type: GGMLType) throws {
        let shapes: [(k: Int, n: Int)] = type == .q6_K ? [(256, 5), (768, 3)]
            : [(32, 3), (64, 5), (544, 7), (576, 9), (512, 4), (1536, 3)]
        for (index, shape) in shapes.enumerated() {
            let tensor = SyntheticTensor(type: type, rows: shape.n, columns: shape.k, seed: UInt64(index + 1))
            let w = try PackedMatrix(tensor.view, releaseSource: false)
            let m = 11
            let x = Self.activations(m: m, k: shape.k, seed: UInt64(100 + index))
            let want = Self.expected(w, tensor, x, m: m)
            var results = [KernelSet: [Float]]()
            for kernels in Self.kernelSets {
                let batched = Self.run(w, x, m: m, kernels: kernels)
                for i in 0..<want.count {
                    #expect(abs(Double(batched[i]) - want[i]) <= 1e-4 * max(1, abs(want[i])), "\(type) k=\(shape.k) \(kernels) [\(i)]")
                }
                // One row at a time (decode) and odd row slices give the same bits.
                for r in 0..<m {
                    let single = Self.run(w, Array(x[(r * shape.k)..<((r + 1) * shape.k)]), m: 1, kernels: kernels, chunk: 2)
                    #expect(single == Array(batched[(r * shape.n)..<((r + 1) * shape.n)]), "\(type) k=\(shape.k) \(kernels) row \(r)")
                }
                // A small batch (rows 3..<8, the batched-decode path) gives the same bits too.
                let small = Self.run(w, Array(x[(3 * shape.k)..<(8 * shape.k)]), m: 5, kernels: kernels)
                #expect(small == Array(batched[(3 * shape.n)..<(8 * shape.n)]), "\(type) k=\(shape.k) \(kernels) 5 rows")
                // Accumulating adds each result to what y held.
                let offsets = (0..<batched.count).map { Float($0 % 7) - 3 }
                let accumulated = Self.run(w, x, m: m, kernels: kernels, addingTo: offsets)
                #expect(accumulated == zip(offsets, batched).map { $0 + $1 }, "\(type) k=\(shape.k) \(kernels) accumulate")
                results[kernels] = batched
            }
            for simd in KernelSet.simdSets {
                #expect(results[simd] == results[.portable], "\(type) k=\(shape.k): \(simd) and reference kernels differ")
            }
        }
    }

    /// NaN, infinities and blocks so small that 127 / amax overflows quantize to the same bits in
    /// both kernel sets (saturated quants), and products over them do not trap.
    @Test func nonFiniteAndTinyActivationsQuantizeAlike() throws {
        let k = 576, m = 4  // 16 full blocks and a tail pair per row
        var x = Self.activations(m: m, k: k, seed: 9)
        x[5] = .nan
        x[k + 40] = .infinity
        x[k + 41] = -.infinity
        for i in 0..<32 {
            x[2 * k + 64 + i] = Float(Double(i) * 1e-40)
            x[2 * k + 96 + i] = 0
        }
        x[2 * k + 32 * 17 + 3] = .nan
        x[3 * k + 7] = .greatestFiniteMagnitude
        var buffers = [KernelSet: [UInt8]]()
        for kernels in Self.kernelSets {
            let activations = QuantizedActivations(columns: k, capacity: m)
            x.withUnsafeBufferPointer { activations.quantize($0.baseAddress!, xStride: k, rows: 0, count: m, kernels: kernels) }
            let bytes = Array(UnsafeRawBufferPointer(start: activations.base, count: m * activations.rowStride))
            // Block 0 of row 0 holds the NaN: every quant saturates to -128 (lane 0 of each slab).
            #expect((0..<8).allSatisfy { j in (0..<4).allSatisfy { Int8(bitPattern: bytes[j * 64 + $0]) == -128 } }, "\(kernels)")
            buffers[kernels] = bytes
        }
        for simd in KernelSet.simdSets {
            #expect(buffers[simd] == buffers[.portable], "\(simd) and reference quantization differ")
        }
        func same(_ a: [Float], _ b: [Float]) -> Bool {
            zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
        }
        for type in [GGMLType.q4_1, .q8_0] {
            let tensor = SyntheticTensor(type: type, rows: 5, columns: k, seed: 3)
            let w = try withExtendedLifetime(tensor) { try PackedMatrix(tensor.view, releaseSource: false) }
            let results = Self.kernelSets.map { Self.run(w, x, m: m, kernels: $0) }
            #expect(results.allSatisfy { same($0, results[0]) }, "\(type)")
        }
    }

    /// 8-bit weights at the ends of their range (quants 0 and -128) against blocks with infinite
    /// activations, whose -128 quants and wrapped bias make the result depend on the exact form
    /// of the integer sum: every kernel set gives the same bits (any NaN counting as NaN).
    @Test func extremeQ8WeightsAgainstInfiniteActivationsAgree() throws {
        let k = 576, n = 6
        let tensor = SyntheticTensor(type: .q8_0, rows: n, columns: k, seed: 21)
        for row in 0..<3 {
            for block in 0..<(k / 32) {
                for i in 0..<32 {
                    let quant: Int8 = row == 0 ? 0 : row == 1 ? -128 : (i % 2 == 0 ? 0 : -128)
                    tensor.bytes[(row * k / 32 + block) * 34 + 2 + i] = UInt8(bitPattern: quant)
                }
            }
        }
        let w = try PackedMatrix(tensor.view, releaseSource: false)
        var x = Self.activations(m: 12, k: k, seed: 4)
        for (r, position) in [(0, 40), (1, 41), (2, 544), (3, 0), (4, 575), (5, 300)] {
            x[r * k + position] = r % 2 == 0 ? .infinity : -.infinity
        }
        x[6 * k + 40] = .infinity
        x[6 * k + 41] = -.infinity
        x[7 * k + 3] = .nan
        func same(_ a: [Float], _ b: [Float]) -> Bool {
            zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
        }
        for m in [1, 5, 12] {
            let rows = Array(x[0..<(m * k)])
            let portable = Self.run(w, rows, m: m, kernels: .portable)
            for kernels in KernelSet.simdSets {
                #expect(same(Self.run(w, rows, m: m, kernels: kernels), portable), "\(kernels) m=\(m)")
                // One row at a time (decode) too.
                for r in 0..<m {
                    let single = Self.run(w, Array(rows[(r * k)..<((r + 1) * k)]), m: 1, kernels: kernels)
                    #expect(same(single, Array(portable[(r * n)..<((r + 1) * n)])), "\(kernels) m=\(m) row \(r)")
                }
            }
        }
    }

    @Test func packedRowsDequantizeLikeTheFile() throws {
        for type in [GGMLType.q4_0, .q4_1, .q8_0] {
            for k in [32, 64, 544, 576, 1536] {
                let tensor = SyntheticTensor(type: type, rows: 3, columns: k, seed: 7)
                let w = try PackedMatrix(tensor.view, releaseSource: false)
                var a = [Float](repeating: 0, count: k), b = a
                for r in 0..<3 {
                    a.withUnsafeMutableBufferPointer { w.dequantizeRow(r, into: $0.baseAddress!) }
                    try b.withUnsafeMutableBufferPointer { try tensor.view.dequantizeRow(r, into: $0.baseAddress!) }
                    #expect(a == b, "\(type) k=\(k) row \(r)")
                }
            }
        }
    }
}
