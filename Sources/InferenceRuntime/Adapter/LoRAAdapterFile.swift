/// A LoRA adapter file in llama.cpp's GGUF format (what `convert_lora_to_gguf.py` writes and
/// `llama_adapter_lora_init` loads), checked on its own when opened; `adapter(base:)` checks it
/// against a base model and reads the values.
///
/// The format: metadata `general.type = "adapter"`, `general.architecture` (the base's),
/// `adapter.type = "lora"`, `adapter.lora.alpha` (f32; absent means 0, and llama.cpp then scales
/// by 1 instead of alpha / rank). For each adapted weight `W = blk.N.<proj>.weight`, tensors
/// `W.lora_a` of ggml shape [inputs, rank] and `W.lora_b` of [rank, outputs], so that
/// y = W x + scale · B (A x). popi writes f32 and reads F32, F16, BF16 and Q8_0, the types the
/// converter writes.
///
/// Stricter than llama.cpp, on purpose: the token embedding and output head are not adapted
/// (llama.cpp accepts `token_embd.weight.lora_*`), `*_norm.weight` tensors are refused (llama.cpp
/// skips them), a negative alpha is refused, and every value must be finite.
public struct LoRAAdapterFile: @unchecked Sendable {
    /// One adapted projection's matrices, views into the file.
    public struct Pair: @unchecked Sendable {
        public let layer: Int
        public let projection: LoRAProjection
        /// [inputs, rank] in ggml order: `rank` rows of `inputs` values (A, row-major).
        public let a: TensorView
        /// [rank, outputs] in ggml order: `outputs` rows of `rank` values (B, row-major).
        public let b: TensorView

        public var rank: Int { b.dimensions[0] }
        /// `blk.N.<proj>.weight`.
        public var baseTensorName: String { "blk.\(layer).\(projection.tensorName).weight" }
        /// A and B values together.
        public var parameterCount: Int { a.elementCount + b.elementCount }
    }

    public static let supportedTypes: Set<GGMLType> = [.f32, .f16, .bf16, .q8_0]

    public let gguf: GGUFFile
    /// `general.architecture`: the base model's architecture.
    public let architecture: String
    /// `adapter.lora.alpha`, 0 when absent.
    public let alpha: Float
    /// In (layer, projection) order.
    public let pairs: [Pair]
    /// String metadata under `labelPrefix`, without it (`LoRAAdapter.labels`); other types there are ignored.
    public var labels: [String: String] {
        var labels: [String: String] = [:]
        for (key, value) in gguf.metadata where key.hasPrefix(Self.labelPrefix) {
            if case .string(let text) = value { labels[String(key.dropFirst(Self.labelPrefix.count))] = text }
        }
        return labels
    }

    public static let labelPrefix = "popi."

    /// Whether `gguf` says it is an adapter (`general.type = "adapter"`), valid or not.
    public static func isAdapter(_ gguf: GGUFFile) -> Bool {
        gguf.metadata["general.type"] == .string("adapter")
    }

    public static func open(path: String) throws(AdapterError) -> LoRAAdapterFile {
        try LoRAAdapterFile(gguf: parse(path: path) { try GGUFFile.open(path: path) })
    }

    /// A file image held in memory.
    public init(bytes: [UInt8]) throws(AdapterError) {
        try self.init(gguf: Self.parse(path: nil) { try GGUFFile(bytes: bytes) })
    }

    /// Checks the metadata (in llama.cpp's order), the tensor names, types and pairing, and that
    /// each pair agrees on its rank.
    public init(gguf: GGUFFile) throws(AdapterError) {
        self.gguf = gguf
        let generalType = try Self.string(gguf, "general.type")
        guard generalType == "adapter" else { throw .notAnAdapter(generalType: generalType) }
        guard let architecture = try Self.string(gguf, "general.architecture") else {
            throw .invalidMetadata(key: "general.architecture", reason: "is missing")
        }
        self.architecture = architecture
        let adapterType = try Self.string(gguf, "adapter.type")
        guard adapterType == "lora" else { throw .notLoRA(adapterType: adapterType) }
        switch gguf.metadata["adapter.lora.alpha"] {
        case nil:
            alpha = 0
        case .float32(let value):
            guard value.isFinite, value >= 0 else { throw .invalidAlpha(value) }
            alpha = value
        case let value?:
            // llama.cpp reads it with gguf_get_val_f32, which aborts on any other type.
            throw .invalidMetadata(key: "adapter.lora.alpha", reason: "is a \(value.type), expected a float32")
        }
        guard gguf.metadata["adapter.alora.invocation_tokens"] == nil else { throw .activatedLoRA }

        var halves: [Target: (a: TensorView?, b: TensorView?)] = [:]
        for name in gguf.tensorNames {
            let tensor = gguf.tensors[name]!
            let (target, isA) = try Self.target(of: name)
            guard Self.supportedTypes.contains(tensor.type) else { throw .unsupportedType(tensor: name, type: tensor.type) }
            // GGUF writers may drop trailing dimensions of 1 (a rank-1 lora_a is then [inputs]).
            guard tensor.dimensions.count <= 2 || tensor.dimensions[2...].allSatisfy({ $0 == 1 }) else {
                throw .notAMatrix(tensor: name, dimensions: tensor.dimensions)
            }
            // GGUFFile refuses duplicate names, so each half is set at most once.
            if isA { halves[target, default: (nil, nil)].a = tensor } else { halves[target, default: (nil, nil)].b = tensor }
        }
        var pairs: [Pair] = []
        for target in halves.keys.sorted() {
            let (a, b) = halves[target]!
            let weight = "blk.\(target.layer).\(target.projection.tensorName).weight"
            guard let a, let b else {
                let present = a == nil ? "lora_b" : "lora_a", missing = a == nil ? "lora_a" : "lora_b"
                throw .missingPair(tensor: "\(weight).\(present)", missing: "\(weight).\(missing)")
            }
            guard Self.matrix(a)[1] == Self.matrix(b)[0] else {
                throw .rankMismatch(a: a.name, aDimensions: a.dimensions, b: b.name, bDimensions: b.dimensions)
            }
            pairs.append(Pair(layer: target.layer, projection: target.projection, a: a, b: b))
        }
        self.pairs = pairs
    }

    /// The adapter's values, after checking the architecture, each pair's shape against the base
    /// projection it adapts, the ranks and that every value is finite.
    public func adapter(base: LlamaConfig) throws(AdapterError) -> LoRAAdapter {
        guard architecture == base.architecture else {
            throw .architectureMismatch(adapter: architecture, base: base.architecture)
        }
        var shapes: [LoRALayout.SlotShape] = []
        for pair in pairs {
            guard pair.layer < base.blockCount else {
                throw .layerOutOfRange(tensor: pair.baseTensorName, layers: base.blockCount)
            }
            let inputs = pair.projection.inputs(base), outputs = pair.projection.outputs(base)
            let a = Self.matrix(pair.a), b = Self.matrix(pair.b)
            guard a[0] == inputs else { throw .shapeMismatch(tensor: pair.a.name, dimensions: pair.a.dimensions, index: 0, expected: inputs) }
            guard b[1] == outputs else { throw .shapeMismatch(tensor: pair.b.name, dimensions: pair.b.dimensions, index: 1, expected: outputs) }
            shapes.append(LoRALayout.SlotShape(layer: pair.layer, projection: pair.projection, rank: pair.rank))
        }
        let adapter = try LoRAAdapter(layout: LoRALayout(config: base, shapes: shapes), alpha: alpha)
        adapter.labels = labels
        // Pairs and slots are both in (layer, projection) order.
        for (pair, slot) in zip(pairs, adapter.layout.slots) {
            try Self.read(pair.a, into: adapter.a(slot))
            try Self.read(pair.b, into: adapter.b(slot))
        }
        return adapter
    }

    /// The file that holds `adapter` for a base of `architecture`, every tensor f32.
    public static func writer(for adapter: LoRAAdapter, architecture: String) -> GGUFFileWriter {
        var tensors: [GGUFFileWriter.Tensor] = []
        for slot in adapter.layout.slots {
            tensors.append(.init(name: slot.baseTensorName + ".lora_a", type: .f32, dimensions: [slot.inputs, slot.rank],
                                 data: littleEndianBytes(adapter.a(slot), count: slot.aCount)))
            tensors.append(.init(name: slot.baseTensorName + ".lora_b", type: .f32, dimensions: [slot.rank, slot.outputs],
                                 data: littleEndianBytes(adapter.b(slot), count: slot.bCount)))
        }
        let labels = adapter.labels.sorted { $0.key < $1.key }.map { (Self.labelPrefix + $0.key, GGUFValue.string($0.value)) }
        return GGUFFileWriter(metadata: [
            ("general.architecture", .string(architecture)),
            ("general.type", .string("adapter")),
            ("adapter.type", .string("lora")),
            ("adapter.lora.alpha", .float32(adapter.alpha)),
        ] + labels, tensors: tensors)
    }

    // MARK: - Parts

    private static func string(_ gguf: GGUFFile, _ key: String) throws(AdapterError) -> String? {
        switch gguf.metadata[key] {
        case nil: return nil
        case .string(let value): return value
        case let value?: throw .invalidMetadata(key: key, reason: "is a \(value.type), expected a string")
        }
    }

    private struct Target: Hashable, Comparable {
        let layer: Int
        let projection: LoRAProjection

        static func < (x: Target, y: Target) -> Bool { (x.layer, x.projection.rawValue) < (y.layer, y.projection.rawValue) }
    }

    /// The base tensor `blk.N.<proj>.weight` that `name` (its `.lora_a` or `.lora_b`) adapts.
    private static func target(of name: String) throws(AdapterError) -> (Target, isA: Bool) {
        let isA = name.hasSuffix(".lora_a")
        guard isA || name.hasSuffix(".lora_b") else { throw .unknownTensor(name) }
        let weight = name.dropLast(".lora_a".count)
        guard weight != "token_embd.weight", weight != "output.weight" else { throw .unadaptedTarget(tensor: name) }
        let parts = weight.split(separator: ".", omittingEmptySubsequences: false)
        // The base tensor's exact name, as llama.cpp looks it up: no sign nor leading zeros.
        guard parts.count == 4, parts[0] == "blk", parts[3] == "weight",
              let projection = LoRAProjection(tensorName: String(parts[2])),
              let layer = Int(parts[1]), layer >= 0, String(layer) == parts[1] else {
            throw .unknownTensor(name)
        }
        return (Target(layer: layer, projection: projection), isA)
    }

    private static func parse(path: String?, _ open: () throws -> GGUFFile) throws(AdapterError) -> GGUFFile {
        do {
            return try open()
        } catch let error as GGUFError {
            switch error {
            case let .cannotOpen(_, reason): throw .cannotOpen(path: path ?? "", reason: reason)
            case .notRegularFile: throw .cannotOpen(path: path ?? "", reason: "not a regular file")
            default: throw .invalidFile(error)
            }
        } catch {
            // GGUFFile throws only GGUFError.
            throw .cannotOpen(path: path ?? "", reason: "\(error)")
        }
    }

    /// The first two dimensions, a missing second one being 1.
    private static func matrix(_ tensor: TensorView) -> [Int] {
        [tensor.dimensions[0], tensor.dimensions.count > 1 ? tensor.dimensions[1] : 1]
    }

    /// All of `tensor` as f32 into `destination` (it holds exactly its elements, ggml order
    /// matching the adapter's row-major A and B), refusing non-finite values.
    private static func read(_ tensor: TensorView, into destination: UnsafeMutablePointer<Float>) throws(AdapterError) {
        // Types are limited to supportedTypes and GGUFFile checked the row length against the
        // block size, so the whole tensor is a run of whole blocks.
        RowDequantizer.dequantize(tensor.type, from: tensor.data, count: tensor.elementCount, into: destination)
        for i in 0..<tensor.elementCount where !destination[i].isFinite {
            throw .nonFiniteValue(tensor: tensor.name, index: i, value: destination[i])
        }
    }

    private static func littleEndianBytes(_ values: UnsafeMutablePointer<Float>, count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 4 * count) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            for i in 0..<count { raw.storeBytes(of: values[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            initialized = 4 * count
        }
    }
}
