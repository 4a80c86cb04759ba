import Foundation

/// Small numeric pieces of the training pass that are not matrix products.
enum TrainingKernels {
    /// dx += the gradient through y = x / rms(x) * weight given dy, with rms(x) computed as
    /// Elementwise.rmsNorm does: dx = r·w·dy − x·r³·Σ(dy·w·x) / n, r = 1 / rms(x).
    static func rmsNormBackward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
                                dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        var squares = 0.0, dot = 0.0
        for i in 0..<count {
            squares += Double(x[i] * x[i])
            dot += Double(dy[i] * weight[i] * x[i])
        }
        let mean = Float(squares / Double(count))
        let r = 1 / (mean + epsilon).squareRoot()
        let correction = Float(dot) * r * r * r / Float(count)
        for i in 0..<count { dx[i] += r * weight[i] * dy[i] - x[i] * correction }
    }

    /// log(exp(a) + exp(b)), exact when either is -infinity.
    static func logAddExp(_ a: Double, _ b: Double) -> Double {
        if a == -.infinity { return b }
        if b == -.infinity { return a }
        let high = max(a, b)
        return high + Foundation.log(1 + Foundation.exp(min(a, b) - high))
    }
}
