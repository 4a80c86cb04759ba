extension LoRALayout {
    /// Throws unless this layout was made for `config`'s shapes: same layer count, and each
    /// slot's inputs and outputs those of the model's projection (a layout built for another
    /// model would make the forward pass read past its matrices).
    public func validate(for config: LlamaConfig) throws(AdapterError) {
        guard layerCount == config.blockCount else {
            throw .layerCountMismatch(adapter: layerCount, model: config.blockCount)
        }
        for slot in slots {
            let inputs = slot.projection.inputs(config), outputs = slot.projection.outputs(config)
            guard slot.inputs == inputs, slot.outputs == outputs else {
                throw .modelShapeMismatch(tensor: slot.baseTensorName, adapter: [slot.inputs, slot.outputs], model: [inputs, outputs])
            }
        }
    }

    /// The largest rank of any slot (0 without slots).
    public var widestRank: Int { slots.reduce(0) { max($0, $1.rank) } }
}
