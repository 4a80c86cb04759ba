/// Where each adapted projection's matrices sit in one flat f32 array: the adapter's values, its
/// gradients and the optimizer's moments all share this layout, so the optimizer works on flat
/// arrays.
public struct LoRALayout: Sendable, Equatable {
    /// One adapted projection: A is [rank, inputs] and B [outputs, rank], row-major, B right
    /// after A.
    public struct Slot: Sendable, Equatable {
        public let layer: Int
        public let projection: LoRAProjection
        public let rank: Int
        public let inputs: Int
        public let outputs: Int
        /// Offset of A, in floats.
        public let offset: Int

        public var aCount: Int { rank * inputs }
        public var bCount: Int { outputs * rank }
        public var bOffset: Int { offset + aCount }
        /// `blk.N.<name>.weight`, the base tensor this slot adapts.
        public var baseTensorName: String { "blk.\(layer).\(projection.tensorName).weight" }
    }

    public struct SlotShape: Sendable, Equatable {
        public var layer: Int
        public var projection: LoRAProjection
        public var rank: Int

        public init(layer: Int, projection: LoRAProjection, rank: Int) {
            self.layer = layer
            self.projection = projection
            self.rank = rank
        }
    }

    public let layerCount: Int
    /// In (layer, projection) order.
    public let slots: [Slot]
    public let parameterCount: Int
    /// layer * 7 + projection → index in `slots`.
    private let lookup: [Int?]

    /// Every projection of every layer at one rank.
    public init(config: LlamaConfig, rank: Int) throws(AdapterError) {
        try self.init(config: config, shapes: (0..<config.blockCount).flatMap { layer in
            LoRAProjection.allCases.map { SlotShape(layer: layer, projection: $0, rank: rank) }
        })
    }

    /// The given projections (each at most once), checked against the model's shapes: a rank must
    /// be at least 1 and at most the narrower side of its projection.
    public init(config: LlamaConfig, shapes: [SlotShape]) throws(AdapterError) {
        let sorted = shapes.sorted { ($0.layer, $0.projection.rawValue) < ($1.layer, $1.projection.rawValue) }
        var lookup = [Int?](repeating: nil, count: config.blockCount * LoRAProjection.allCases.count)
        var slots: [Slot] = []
        var offset = 0
        for shape in sorted {
            guard (0..<config.blockCount).contains(shape.layer) else {
                throw .layerOutOfRange(tensor: "blk.\(shape.layer).\(shape.projection.tensorName).weight",
                                       layers: config.blockCount)
            }
            let inputs = shape.projection.inputs(config), outputs = shape.projection.outputs(config)
            let name = "blk.\(shape.layer).\(shape.projection.tensorName).weight"
            guard shape.rank >= 1, shape.rank <= min(inputs, outputs) else {
                throw .invalidRank(tensor: name, rank: shape.rank, maximum: min(inputs, outputs))
            }
            let key = shape.layer * LoRAProjection.allCases.count + shape.projection.rawValue
            guard lookup[key] == nil else { throw .duplicateTensor(name) }
            lookup[key] = slots.count
            let slot = Slot(layer: shape.layer, projection: shape.projection, rank: shape.rank,
                            inputs: inputs, outputs: outputs, offset: offset)
            slots.append(slot)
            offset += slot.aCount + slot.bCount
        }
        layerCount = config.blockCount
        self.slots = slots
        self.lookup = lookup
        parameterCount = offset
    }

    public func slot(layer: Int, projection: LoRAProjection) -> Slot? {
        guard (0..<layerCount).contains(layer) else { return nil }
        return lookup[layer * LoRAProjection.allCases.count + projection.rawValue].map { slots[$0] }
    }
}
