@testable import InferenceRuntime

/// Deterministic random tensors for kernel tests.
struct SyntheticRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }

    /// Uniform in [-scale, scale).
    mutating func float(_ scale: Float = 1) -> Float {
        (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
}

/// A weight tensor owned by the test, viewable as a TensorView.
final class SyntheticTensor {
    let type: GGMLType
    let rows: Int
    let columns: Int
    let bytes: UnsafeMutableRawBufferPointer

    init(type: GGMLType, rows: Int, columns: Int, seed: UInt64) {
        self.type = type
        self.rows = rows
        self.columns = columns
        var rng = SyntheticRandom(seed: seed)
        var data = [UInt8]()
        let blocks = rows * columns / type.blockSize
        for _ in 0..<blocks {
            switch type {
            case .q4_0:
                data += BlockEncoder.q4_0(d: rng.float(0.1), q: (0..<32).map { _ in rng.int(0...15) })
            case .q4_1:
                data += BlockEncoder.q4_1(d: rng.float(0.1), m: rng.float(0.5), q: (0..<32).map { _ in rng.int(0...15) })
            case .q8_0:
                data += BlockEncoder.q8_0(d: rng.float(0.01), q: (0..<32).map { _ in rng.int(-128...127) })
            case .f32:
                data += withUnsafeBytes(of: rng.float().bitPattern.littleEndian) { Array($0) }
            case .f16:
                data += BlockEncoder.half(rng.float())
            case .q6_K:
                data += BlockEncoder.q6_K(d: rng.float(0.01), scales: (0..<16).map { _ in rng.int(-128...127) },
                                          q: (0..<256).map { _ in rng.int(0...63) })
            default:
                fatalError("no synthetic encoder for \(type)")
            }
        }
        bytes = .allocate(byteCount: data.count, alignment: 64)
        bytes.copyBytes(from: data)
    }

    deinit { bytes.deallocate() }

    var view: TensorView {
        TensorView(name: "synthetic.\(type)", type: type, dimensions: [columns, rows],
                   data: UnsafeRawPointer(bytes.baseAddress!), byteCount: bytes.count)
    }
}
