/// A LoRA adapter that cannot be made or loaded; descriptions name the tensor at fault.
public enum AdapterError: Error, Equatable, CustomStringConvertible {
    case invalidRank(tensor: String, rank: Int, maximum: Int)
    case invalidAlpha(Float)
    case layerOutOfRange(tensor: String, layers: Int)
    case duplicateTensor(String)
    /// The adapter was made for a model with another number of layers.
    case layerCountMismatch(adapter: Int, model: Int)
    /// A slot's [inputs, outputs] differ from the model's projection.
    case shapeMismatch(tensor: String, adapter: [Int], model: [Int])

    public var description: String {
        switch self {
        case .invalidRank(let tensor, let rank, let maximum):
            return "LoRA rank \(rank) for \(tensor) must be between 1 and \(maximum) (the projection's narrower side)"
        case .invalidAlpha(let alpha):
            return "LoRA alpha must be a finite number >= 0, not \(alpha)"
        case .layerOutOfRange(let tensor, let layers):
            return "adapter tensor \(tensor) names a layer the base model does not have (it has \(layers))"
        case .duplicateTensor(let name):
            return "adapter tensor \(name) appears more than once"
        case .layerCountMismatch(let adapter, let model):
            return "the adapter was made for a model with \(adapter) layers, but this model has \(model)"
        case .shapeMismatch(let tensor, let adapter, let model):
            return "the adapter's \(tensor) is \(adapter) ([inputs, outputs]), but this model's is \(model)"
        }
    }
}
