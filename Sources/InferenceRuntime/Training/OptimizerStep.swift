/// What one `AdamW.step` did.
public enum OptimizerStep: Sendable, Equatable {
    /// The adapter was updated. `step` is this step's number (1 for the first), `gradientNorm`
    /// the gradients' global norm before clipping, `clipFactor` what clipping multiplied them by
    /// (1 when their norm was within the bound).
    case applied(step: Int, learningRate: Double, gradientNorm: Double, clipFactor: Double)
    /// Nothing changed, neither the adapter nor the optimizer's state.
    case skipped(SkipReason)

    public enum SkipReason: Sendable, Equatable, CustomStringConvertible {
        /// `tensor` is the adapter tensor (`blk.N.<proj>.weight.lora_a` or `.lora_b`) and
        /// `index` the position in it, row-major, of the first bad gradient.
        case notANumber(tensor: String, index: Int)
        case infinite(tensor: String, index: Int)

        public var description: String {
            switch self {
            case .notANumber(let tensor, let index): return "the gradient of \(tensor)[\(index)] is not a number"
            case .infinite(let tensor, let index): return "the gradient of \(tensor)[\(index)] is infinite"
            }
        }
    }
}
