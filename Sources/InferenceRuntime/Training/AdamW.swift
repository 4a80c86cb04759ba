import Foundation

/// AdamW (decoupled weight decay, as PyTorch's `torch.optim.AdamW`) over a LoRA adapter's flat
/// values, with global-norm gradient clipping and a learning-rate schedule.
///
/// Its moments share the adapter's layout, so a step is one pass over flat arrays. A step whose
/// gradients hold a NaN or an infinity is skipped: the adapter, the moments and the step count
/// stay as they were. The state saves to and restores from a file exactly (`save(to:)`,
/// `init(restoringFrom:layout:)`), so training resumes with the same bits as if never stopped.
public final class AdamW: @unchecked Sendable {
    public let layout: LoRALayout
    public let settings: AdamWSettings
    /// Steps applied so far (not those skipped): the schedule's position.
    public internal(set) var steps = 0
    /// Moment estimates, `layout.parameterCount` floats each.
    let firstMoment: UnsafeMutablePointer<Float>
    let secondMoment: UnsafeMutablePointer<Float>
    private let storage: AlignedBuffer

    /// Fresh state: step 0, moments zero.
    public init(layout: LoRALayout, settings: AdamWSettings) throws(OptimizerError) {
        try settings.validate()
        self.layout = layout
        self.settings = settings
        storage = AlignedBuffer(byteCount: 8 * layout.parameterCount)
        firstMoment = storage.floats()
        secondMoment = storage.floats(at: 4 * layout.parameterCount)
    }

    /// One update of `adapter` from `gradients` (both in this optimizer's layout), which are
    /// read, not changed.
    public func step(_ adapter: LoRAAdapter, gradients: LoRAGradients) throws(OptimizerError) -> OptimizerStep {
        guard adapter.layout == layout, gradients.layout == layout else { throw .layoutMismatch }
        let norm = gradients.norm
        guard norm.isFinite else { return .skipped(firstNonFinite(gradients)) }
        // PyTorch's clip_grad_norm_: the 1e-6 keeps the factor finite for tiny norms.
        let clip = settings.maxGradientNorm.map { norm > $0 ? $0 / (norm + 1e-6) : 1 } ?? 1
        let step = steps + 1
        let rate = settings.schedule.learningRate(atStep: step)
        // 1 - β in double first: 1 - Float(0.999) is off by 1e-5 relative.
        let beta1 = Float(settings.beta1), beta2 = Float(settings.beta2)
        let rest1 = Float(1 - settings.beta1), rest2 = Float(1 - settings.beta2)
        // m̂ = m / (1 - β1^t) and v̂ = v / (1 - β2^t), folded into the step size and denominator.
        let stepSize = Float(rate / (1 - Foundation.pow(settings.beta1, Double(step))))
        let rootCorrection2 = Float((1 - Foundation.pow(settings.beta2, Double(step))).squareRoot())
        let decay = Float(1 - rate * settings.weightDecay)
        let epsilon = Float(settings.epsilon), scale = Float(clip)
        let theta = adapter.parameters, g = gradients.values, m = firstMoment, v = secondMoment
        for i in 0..<layout.parameterCount {
            let gradient = g[i] * scale
            m[i] = beta1 * m[i] + rest1 * gradient
            v[i] = beta2 * v[i] + rest2 * gradient * gradient
            theta[i] = theta[i] * decay - stepSize * m[i] / (v[i].squareRoot() / rootCorrection2 + epsilon)
        }
        steps = step
        return .applied(step: step, learningRate: rate, gradientNorm: norm, clipFactor: clip)
    }

    /// The first gradient that is NaN or infinite, named by its adapter tensor.
    private func firstNonFinite(_ gradients: LoRAGradients) -> OptimizerStep.SkipReason {
        for slot in layout.slots {
            for (suffix, start, count) in [("lora_a", slot.offset, slot.aCount), ("lora_b", slot.bOffset, slot.bCount)] {
                for index in 0..<count where !gradients.values[start + index].isFinite {
                    let tensor = "\(slot.baseTensorName).\(suffix)"
                    return gradients.values[start + index].isNaN
                        ? .notANumber(tensor: tensor, index: index) : .infinite(tensor: tensor, index: index)
                }
            }
        }
        preconditionFailure("a non-finite norm without a non-finite gradient")
    }
}
