import Foundation
import Testing
import InferenceRuntime

/// Adapter files: popi's round trip (bit-identical), files written by the independent test writer
/// in every type llama.cpp's converter writes, and every way a file can be wrong, each a clear
/// error naming the tensor or key.
@Suite struct LoRAAdapterFileTests {
    /// 2 layers, width 64, 2 query heads and 1 key/value head of 32, feed-forward 96: inputs and
    /// outputs differ for most projections, so a transposed matrix cannot pass.
    static let tiny: LlamaConfig = {
        var writer = GGUFWriter()
        writer.metadata = [
            ("general.architecture", .string("llama")),
            ("llama.block_count", .uint32(2)), ("llama.embedding_length", .uint32(64)),
            ("llama.feed_forward_length", .uint32(96)), ("llama.attention.head_count", .uint32(2)),
            ("llama.attention.head_count_kv", .uint32(1)),
            ("llama.attention.layer_norm_rms_epsilon", .float32(1e-6)), ("llama.context_length", .uint64(64)),
            ("tokenizer.ggml.tokens", .array(.string(["a", "b", "c", "d"]))),
        ]
        writer.tensors = [GGUFWriter.Tensor(name: "token_embd.weight", type: .f32, dimensions: [64, 4],
                                            data: [UInt8](repeating: 0, count: 64 * 4 * 4))]
        return try! LlamaConfig(gguf: GGUFFile(bytes: writer.bytes()))
    }()

    static let metadata: [(String, GGUFValue)] = [
        ("general.architecture", .string("llama")), ("general.type", .string("adapter")),
        ("adapter.type", .string("lora")), ("adapter.lora.alpha", .float32(8)),
    ]

    static func randomValues(_ count: Int, seed: UInt64) -> [Float] {
        var random = RandomGenerator(seed: seed)
        return (0..<count).map { _ in Float(random.nextUnit() - 0.5) }
    }

    static func f32(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    /// An f32 tensor of seeded values in ±0.5.
    static func tensor(_ name: String, _ dimensions: [Int], seed: UInt64 = 1) -> GGUFWriter.Tensor {
        GGUFWriter.Tensor(name: name, type: .f32, dimensions: dimensions,
                          data: f32(randomValues(dimensions.reduce(1, *), seed: seed)))
    }

    /// lora_a [inputs, rank] and lora_b [rank, outputs] of `blk.<layer>.<projection>.weight`.
    static func pair(_ layer: Int, _ projection: String, inputs: Int, rank: Int, outputs: Int) -> [GGUFWriter.Tensor] {
        [tensor("blk.\(layer).\(projection).weight.lora_a", [inputs, rank], seed: 2),
         tensor("blk.\(layer).\(projection).weight.lora_b", [rank, outputs], seed: 3)]
    }

    /// A file image from the test writer (independent of the product's).
    static func image(_ tensors: [GGUFWriter.Tensor], metadata: [(String, GGUFValue)] = metadata) -> [UInt8] {
        var writer = GGUFWriter()
        writer.metadata = metadata
        writer.tensors = tensors
        return writer.bytes()
    }

    static func error(_ bytes: [UInt8], base: LlamaConfig = tiny) -> AdapterError? {
        do throws(AdapterError) {
            _ = try LoRAAdapter.load(bytes: bytes, base: base)
            return nil
        } catch {
            return error
        }
    }

    static func bits(_ adapter: LoRAAdapter) -> [UInt32] {
        (0..<adapter.layout.parameterCount).map { adapter.parameters[$0].bitPattern }
    }

    // MARK: Round trips

    @Test func roundTripOnATinyConfig() throws {
        let layout = try LoRALayout(config: Self.tiny, shapes: [
            .init(layer: 1, projection: .down, rank: 3), .init(layer: 0, projection: .query, rank: 1),
            .init(layer: 0, projection: .key, rank: 32), .init(layer: 1, projection: .up, rank: 8),
        ])
        let adapter = try LoRAAdapter(layout: layout, alpha: 12.5)
        for (i, v) in Self.randomValues(layout.parameterCount, seed: 9).enumerated() { adapter.parameters[i] = v }
        // Values whose bits a careless conversion would change.
        adapter.parameters[0] = -0.0
        adapter.parameters[1] = .leastNonzeroMagnitude
        adapter.parameters[2] = .greatestFiniteMagnitude
        adapter.parameters[layout.parameterCount - 1] = -.leastNormalMagnitude

        let bytes = adapter.fileBytes(architecture: "llama")
        let loaded = try LoRAAdapter.load(bytes: bytes, base: Self.tiny)
        #expect(loaded.layout == layout && loaded.alpha == 12.5)
        #expect(Self.bits(loaded) == Self.bits(adapter))

        try withTemporaryFolder { folder in
            let path = folder.appendingPathComponent("tiny.gguf").path
            try adapter.write(path: path, architecture: "llama")
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == bytes)
            let fromFile = try LoRAAdapter.load(path: path, base: Self.tiny)
            #expect(fromFile.layout == layout && Self.bits(fromFile) == Self.bits(adapter))
        }
    }

    /// Labels are string metadata under `popi.`, written in key order and read back; other keys
    /// and non-string values there are not labels.
    @Test func labelsRoundTripAsPopiStringMetadata() throws {
        let layout = try LoRALayout(config: Self.tiny, shapes: [.init(layer: 0, projection: .query, rank: 2)])
        let adapter = try LoRAAdapter(layout: layout, alpha: 4)
        adapter.labels = ["summary_form": "notes", "another": "x y"]
        let bytes = adapter.fileBytes(architecture: "llama")
        let file = try LoRAAdapterFile(bytes: bytes)
        #expect(file.labels == ["summary_form": "notes", "another": "x y"])
        #expect(file.gguf.metadataKeys.suffix(2) == ["popi.another", "popi.summary_form"])
        #expect(try LoRAAdapter.load(bytes: bytes, base: Self.tiny).labels == adapter.labels)
        #expect(adapter.copy().labels == adapter.labels)
        #expect(try LoRAAdapter.load(bytes: LoRAAdapter(layout: layout, alpha: 4).fileBytes(architecture: "llama"), base: Self.tiny).labels.isEmpty)
    }

    @Test func roundTripOnTheDefaultModel() throws {
        let config = try LlamaConfig(gguf: TestModel.file)
        let adapter = try LoRAAdapter(config: config, rank: 8, alpha: 16, seed: 5)
        for slot in adapter.layout.slots {
            for (i, v) in Self.randomValues(slot.bCount, seed: UInt64(slot.offset)).enumerated() { adapter.b(slot)[i] = v }
        }
        try withTemporaryFolder { folder in
            let path = folder.appendingPathComponent("smollm2.gguf").path
            try adapter.write(path: path, architecture: config.architecture)

            let file = try LoRAAdapterFile.open(path: path)
            #expect(file.gguf.version == 3 && file.gguf.alignment == 32)
            #expect(file.gguf.metadataKeys == ["general.architecture", "general.type", "adapter.type", "adapter.lora.alpha"])
            #expect(file.gguf.metadata["adapter.lora.alpha"] == .float32(16))
            #expect(file.gguf.tensors.count == 2 * 7 * 30 && file.pairs.count == 7 * 30)
            #expect(file.gguf.tensorNames.prefix(4) == ["blk.0.attn_q.weight.lora_a", "blk.0.attn_q.weight.lora_b",
                                                         "blk.0.attn_k.weight.lora_a", "blk.0.attn_k.weight.lora_b"])
            let a = try #require(file.gguf.tensors["blk.3.attn_k.weight.lora_a"])
            let b = try #require(file.gguf.tensors["blk.3.attn_k.weight.lora_b"])
            #expect(a.type == .f32 && a.dimensions == [576, 8] && b.dimensions == [8, 192])
            #expect(file.gguf.tensors["blk.29.ffn_down.weight.lora_a"]?.dimensions == [1536, 8])
            // The base tensors these adapt have the matching ggml shapes [inputs, outputs].
            #expect(TestModel.file.tensors["blk.3.attn_k.weight"]?.dimensions == [576, 192])
            #expect(TestModel.file.tensors["blk.29.ffn_down.weight"]?.dimensions == [1536, 576])

            let loaded = try LoRAAdapter.load(path: path, base: config)
            #expect(loaded.layout == adapter.layout && loaded.alpha == 16)
            #expect(Self.bits(loaded) == Self.bits(adapter))
            #expect(throws: AdapterError.cannotWrite(path: folder.path + "/absent/x.gguf",
                                                     reason: "cannot create a temporary file in \(folder.path)/absent: No such file or directory")) {
                try adapter.write(path: folder.path + "/absent/x.gguf", architecture: "llama")
            }
        }
    }

    // MARK: What llama.cpp's converter writes

    @Test func readsF16AndBF16() throws {
        let values: [Float] = (0..<64 * 2).map { Float($0 % 17) / 8 - 1 }   // exact in both types
        let f16 = values.flatMap { BlockEncoder.half($0) }
        let bf16 = values.flatMap { v in withUnsafeBytes(of: UInt16(v.bitPattern >> 16).littleEndian) { Array($0) } }
        for (type, data) in [(GGMLType.f16, f16), (.bf16, bf16)] {
            let bytes = Self.image([
                GGUFWriter.Tensor(name: "blk.0.attn_q.weight.lora_a", type: type, dimensions: [64, 2], data: data),
                GGUFWriter.Tensor(name: "blk.0.attn_q.weight.lora_b", type: type, dimensions: [2, 64], data: data),
            ])
            let adapter = try LoRAAdapter.load(bytes: bytes, base: Self.tiny)
            let slot = try #require(adapter.layout.slot(layer: 0, projection: .query))
            #expect(slot.rank == 2 && adapter.scale(slot) == 4)
            #expect((0..<128).map { adapter.a(slot)[$0] } == values, "\(type)")
            #expect((0..<128).map { adapter.b(slot)[$0] } == values, "\(type)")
        }
    }

    @Test func readsQ8_0() throws {
        // Rank 32: lora_b's rows (rank long) must be whole Q8_0 blocks.
        let q = (0..<32).map { $0 * 8 - 127 }
        let block = BlockEncoder.q8_0(d: 0.25, q: q)
        let bytes = Self.image([
            GGUFWriter.Tensor(name: "blk.1.attn_output.weight.lora_a", type: .q8_0, dimensions: [64, 32],
                              data: Array([[UInt8]](repeating: block, count: 64).joined())),
            GGUFWriter.Tensor(name: "blk.1.attn_output.weight.lora_b", type: .q8_0, dimensions: [32, 64],
                              data: Array([[UInt8]](repeating: block, count: 64).joined())),
        ])
        let adapter = try LoRAAdapter.load(bytes: bytes, base: Self.tiny)
        let slot = try #require(adapter.layout.slot(layer: 1, projection: .output))
        #expect((0..<slot.aCount).allSatisfy { adapter.a(slot)[$0] == Float(q[$0 % 32]) / 4 })
        #expect((0..<slot.bCount).allSatisfy { adapter.b(slot)[$0] == Float(q[$0 % 32]) / 4 })
    }

    @Test func missingAlphaScalesByOne() throws {
        let bytes = Self.image(Self.pair(0, "ffn_up", inputs: 64, rank: 4, outputs: 96), metadata: Array(Self.metadata.prefix(3)))
        let adapter = try LoRAAdapter.load(bytes: bytes, base: Self.tiny)
        #expect(adapter.alpha == 0 && adapter.scale(adapter.layout.slots[0]) == 1)
    }

    /// GGUF writers may drop trailing dimensions of 1: a rank-1 lora_a is then one-dimensional.
    @Test func acceptsDroppedOrExtraUnitDimensions() throws {
        let bytes = Self.image([Self.tensor("blk.0.attn_v.weight.lora_a", [64]), Self.tensor("blk.0.attn_v.weight.lora_b", [1, 32, 1, 1])])
        let adapter = try LoRAAdapter.load(bytes: bytes, base: Self.tiny)
        #expect(adapter.layout.slots.map(\.rank) == [1] && adapter.layout.parameterCount == 64 + 32)
    }

    @Test func anEmptyAdapterAdaptsNothing() throws {
        let adapter = try LoRAAdapter.load(bytes: Self.image([]), base: Self.tiny)
        #expect(adapter.layout.slots.isEmpty && adapter.layout.parameterCount == 0)
    }

    // MARK: Refused

    @Test func refusesWrongMetadata() {
        let pair = Self.pair(0, "attn_q", inputs: 64, rank: 2, outputs: 64)
        func error(_ change: (inout [(String, GGUFValue)]) -> Void) -> AdapterError? {
            var metadata = Self.metadata
            change(&metadata)
            return Self.error(Self.image(pair, metadata: metadata))
        }
        #expect(error { _ in } == nil)
        #expect(error { $0[0].1 = .string("qwen2") } == .architectureMismatch(adapter: "qwen2", base: "llama"))
        #expect(error { $0.remove(at: 0) } == .invalidMetadata(key: "general.architecture", reason: "is missing"))
        #expect(error { $0[1].1 = .string("model") } == .notAnAdapter(generalType: "model"))
        #expect(error { $0.remove(at: 1) } == .notAnAdapter(generalType: nil))
        #expect(error { $0[1].1 = .uint8(1) } == .invalidMetadata(key: "general.type", reason: "is a uint8, expected a string"))
        #expect(error { $0[2].1 = .string("control_vector") } == .notLoRA(adapterType: "control_vector"))
        #expect(error { $0.remove(at: 2) } == .notLoRA(adapterType: nil))
        #expect(error { $0[3].1 = .float64(8) } == .invalidMetadata(key: "adapter.lora.alpha", reason: "is a float64, expected a float32"))
        #expect(error { $0[3].1 = .float32(-1) } == .invalidAlpha(-1))
        #expect(error { $0[3].1 = .float32(.infinity) } == .invalidAlpha(.infinity))
        #expect(error { $0.append(("adapter.alora.invocation_tokens", .array(.uint32([1, 2])))) } == .activatedLoRA)

        #expect("\(AdapterError.architectureMismatch(adapter: "qwen2", base: "llama"))"
            == "adapter is for architecture qwen2, the base model is llama")
        #expect("\(AdapterError.notAnAdapter(generalType: "model"))" == "not an adapter file: general.type is \"model\", expected \"adapter\"")
        #expect("\(AdapterError.notAnAdapter(generalType: nil))" == "not an adapter file: general.type is missing, expected \"adapter\"")
    }

    @Test func refusesTensorsThatAreNotBlockProjections() {
        let b = Self.tensor("blk.0.attn_q.weight.lora_b", [2, 64])
        for name in ["blk.0.attn_qkv.weight.lora_a", "blk.0.attn_q.weight", "blk.0.attn_q.weight.lora_c",
                     "blk.00.attn_q.weight.lora_a", "blk.+0.attn_q.weight.lora_a", "blk.-1.attn_q.weight.lora_a",
                     "blk.0.attn_q.bias.lora_a", "blk.0.attn_norm.weight", "model.blk.0.attn_q.weight.lora_a",
                     "blk.99999999999999999999.attn_q.weight.lora_a", "rope_freqs.weight"] {
            #expect(Self.error(Self.image([Self.tensor(name, [64, 2]), b])) == .unknownTensor(name), "\(name)")
        }
        #expect(Self.error(Self.image([Self.tensor("token_embd.weight.lora_a", [2, 4]), Self.tensor("token_embd.weight.lora_b", [64, 2])]))
            == .unadaptedTarget(tensor: "token_embd.weight.lora_a"))
        #expect(Self.error(Self.image([Self.tensor("output.weight.lora_b", [2, 4]), Self.tensor("output.weight.lora_a", [64, 2])]))
            == .unadaptedTarget(tensor: "output.weight.lora_b"))
        #expect(Self.error(Self.image(Self.pair(2, "attn_q", inputs: 64, rank: 2, outputs: 64)))
            == .layerOutOfRange(tensor: "blk.2.attn_q.weight", layers: 2))
        #expect("\(AdapterError.unknownTensor("blk.0.attn_qkv.weight.lora_a"))" == "adapter tensor blk.0.attn_qkv.weight.lora_a is not a LoRA "
            + "matrix of a block projection (expected blk.N.<attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down>.weight.lora_a or .lora_b)")
        #expect("\(AdapterError.unadaptedTarget(tensor: "token_embd.weight.lora_a"))" == "adapter tensor token_embd.weight.lora_a adapts "
            + "the token embedding or output head; popi adapts only the block projections (blk.N.attn_*/ffn_*)")
    }

    @Test func refusesUnpairedMatrices() {
        let pair = Self.pair(1, "ffn_gate", inputs: 64, rank: 2, outputs: 96)
        #expect(Self.error(Self.image([pair[0]] + Self.pair(0, "attn_q", inputs: 64, rank: 2, outputs: 64)))
            == .missingPair(tensor: "blk.1.ffn_gate.weight.lora_a", missing: "blk.1.ffn_gate.weight.lora_b"))
        #expect(Self.error(Self.image([pair[1]]))
            == .missingPair(tensor: "blk.1.ffn_gate.weight.lora_b", missing: "blk.1.ffn_gate.weight.lora_a"))
        #expect("\(AdapterError.missingPair(tensor: "x.lora_b", missing: "x.lora_a"))"
            == "adapter tensor x.lora_b has no matching x.lora_a (each lora_a needs its lora_b)")
    }

    @Test func refusesShapesThatDoNotFitTheBase() {
        // attn_k: 64 inputs, 32 outputs.
        #expect(Self.error(Self.image(Self.pair(0, "attn_k", inputs: 64, rank: 4, outputs: 32))) == nil)
        #expect(Self.error(Self.image(Self.pair(0, "attn_k", inputs: 96, rank: 4, outputs: 32)))
            == .shapeMismatch(tensor: "blk.0.attn_k.weight.lora_a", dimensions: [96, 4], index: 0, expected: 64))
        #expect(Self.error(Self.image(Self.pair(0, "attn_k", inputs: 64, rank: 4, outputs: 64)))
            == .shapeMismatch(tensor: "blk.0.attn_k.weight.lora_b", dimensions: [4, 64], index: 1, expected: 32))
        // A square projection stored transposed agrees on its "rank" (64) but not with the base.
        #expect(Self.error(Self.image([Self.tensor("blk.0.attn_q.weight.lora_a", [4, 64]), Self.tensor("blk.0.attn_q.weight.lora_b", [64, 4])]))
            == .shapeMismatch(tensor: "blk.0.attn_q.weight.lora_a", dimensions: [4, 64], index: 0, expected: 64))
        // ffn_up stored transposed (PyTorch's [rank, inputs] and [outputs, rank]).
        #expect(Self.error(Self.image([Self.tensor("blk.0.ffn_up.weight.lora_a", [4, 64]), Self.tensor("blk.0.ffn_up.weight.lora_b", [96, 4])]))
            == .rankMismatch(a: "blk.0.ffn_up.weight.lora_a", aDimensions: [4, 64], b: "blk.0.ffn_up.weight.lora_b", bDimensions: [96, 4]))
        #expect(Self.error(Self.image([Self.tensor("blk.0.ffn_up.weight.lora_a", [64, 4]), Self.tensor("blk.0.ffn_up.weight.lora_b", [3, 96])]))
            == .rankMismatch(a: "blk.0.ffn_up.weight.lora_a", aDimensions: [64, 4], b: "blk.0.ffn_up.weight.lora_b", bDimensions: [3, 96]))
        #expect(Self.error(Self.image([Self.tensor("blk.0.ffn_up.weight.lora_a", [64, 4, 2]), Self.tensor("blk.0.ffn_up.weight.lora_b", [4, 96])]))
            == .notAMatrix(tensor: "blk.0.ffn_up.weight.lora_a", dimensions: [64, 4, 2]))
        // The rank is at most the projection's narrower side (attn_k: 32).
        #expect(Self.error(Self.image(Self.pair(0, "attn_k", inputs: 64, rank: 32, outputs: 32))) == nil)
        #expect(Self.error(Self.image(Self.pair(0, "attn_k", inputs: 64, rank: 33, outputs: 32)))
            == .invalidRank(tensor: "blk.0.attn_k.weight", rank: 33, maximum: 32))
        #expect("\(AdapterError.shapeMismatch(tensor: "blk.0.attn_k.weight.lora_a", dimensions: [96, 4], index: 0, expected: 64))"
            == "adapter tensor blk.0.attn_k.weight.lora_a has shape [96, 4], dimension 0 must be 64 for this base model "
            + "(lora_a is [inputs, rank] and lora_b [rank, outputs], in ggml order)")
    }

    /// A zero dimension is refused by GGUFFile already; the message still names the tensor.
    @Test func rankZeroNamesTheTensor() {
        var bytes = Self.image(Self.pair(0, "attn_q", inputs: 64, rank: 1, outputs: 64))
        // The test writer writes lora_a's dimensions as two u64 after its name: set the second to 0.
        let name = Array("blk.0.attn_q.weight.lora_a".utf8)
        let at = (0...(bytes.count - name.count)).first { Array(bytes[$0..<$0 + name.count]) == name }!
        let rank = at + name.count + 4 + 8
        bytes.replaceSubrange(rank..<rank + 8, with: [UInt8](repeating: 0, count: 8))
        let error = Self.error(bytes)
        #expect(error == .invalidFile(.invalidTensorDimension(tensor: "blk.0.attn_q.weight.lora_a", index: 1, value: 0)))
        #expect(error?.description == "invalid adapter file: tensor blk.0.attn_q.weight.lora_a: dimension 1 is 0; it must be between 1 and 2^40")
    }

    @Test func refusesOtherTypesAndNonFiniteValues() throws {
        let block = BlockEncoder.q4_0(d: 1, q: [Int](repeating: 3, count: 32))
        #expect(Self.error(Self.image([
            GGUFWriter.Tensor(name: "blk.0.attn_q.weight.lora_a", type: .q4_0, dimensions: [64, 2], data: Array([block, block, block, block].joined())),
            Self.tensor("blk.0.attn_q.weight.lora_b", [2, 64]),
        ])) == .unsupportedType(tensor: "blk.0.attn_q.weight.lora_a", type: .q4_0))

        var values = Self.randomValues(2 * 64, seed: 4)
        values[77] = .nan
        let nan = Self.error(Self.image([Self.tensor("blk.1.attn_output.weight.lora_a", [64, 2]),
                                         GGUFWriter.Tensor(name: "blk.1.attn_output.weight.lora_b", type: .f32, dimensions: [2, 64], data: Self.f32(values))]))
        #expect(nan?.description == "adapter tensor blk.1.attn_output.weight.lora_b element 77 is nan; values must be finite")

        var half = (0..<64 * 2).flatMap { _ in BlockEncoder.half(0.5) }
        half.replaceSubrange(6..<8, with: [0x00, 0x7C])   // +infinity
        #expect(Self.error(Self.image([GGUFWriter.Tensor(name: "blk.0.attn_v.weight.lora_a", type: .f16, dimensions: [64, 2], data: half),
                                       Self.tensor("blk.0.attn_v.weight.lora_b", [2, 32])]))
            == .nonFiniteValue(tensor: "blk.0.attn_v.weight.lora_a", index: 3, value: .infinity))
    }

    @Test func openErrorsNameThePath() throws {
        try withTemporaryFolder { folder in
            #expect(throws: AdapterError.cannotOpen(path: folder.path + "/absent.gguf", reason: "No such file or directory")) {
                try LoRAAdapter.load(path: folder.path + "/absent.gguf", base: Self.tiny)
            }
            #expect(throws: AdapterError.cannotOpen(path: folder.path, reason: "not a regular file")) {
                try LoRAAdapter.load(path: folder.path, base: Self.tiny)
            }
        }
        #expect(Self.error(Array("not a gguf file".utf8)) == .invalidFile(.badMagic(found: 0x2074_6F6E)))
    }

    // MARK: Damaged files

    /// Two pairs; the last tensor's size (2 × 64 f32) is a multiple of the alignment, so the file
    /// ends with its data and every shorter prefix is truncated.
    static func smallFile() throws -> [UInt8] {
        let layout = try LoRALayout(config: tiny, shapes: [.init(layer: 0, projection: .value, rank: 1),
                                                           .init(layer: 1, projection: .down, rank: 2)])
        let adapter = try LoRAAdapter(layout: layout, alpha: 2)
        for (i, v) in randomValues(layout.parameterCount, seed: 11).enumerated() { adapter.parameters[i] = v }
        return adapter.fileBytes(architecture: "llama")
    }

    @Test func everyTruncationIsAnError() throws {
        let bytes = try Self.smallFile()
        #expect(Self.error(bytes) == nil)
        for length in 0..<bytes.count {
            guard let error = Self.error(Array(bytes.prefix(length))) else {
                Issue.record("prefix of \(length) of \(bytes.count) bytes loaded")
                continue
            }
            guard case .invalidFile = error else {
                Issue.record("prefix of \(length) bytes: \(error)")
                continue
            }
        }
    }

    @Test func bitFlipsNeverCrash() throws {
        let bytes = try Self.smallFile()
        var loaded = 0, refused = 0
        for index in bytes.indices {
            for bit in 0..<8 {
                var copy = bytes
                copy[index] ^= 1 << bit
                do throws(AdapterError) {
                    let adapter = try LoRAAdapter.load(bytes: copy, base: Self.tiny)
                    // What loads is a valid adapter: finite values, shapes of this base.
                    #expect((0..<adapter.layout.parameterCount).allSatisfy { adapter.parameters[$0].isFinite })
                    #expect(adapter.layout.slots.allSatisfy { $0.rank >= 1 && $0.rank <= min($0.inputs, $0.outputs) })
                    loaded += 1
                } catch {
                    #expect(!error.description.isEmpty)
                    refused += 1
                }
            }
        }
        // Most flips land in tensor data and leave a valid adapter; header flips are refused.
        #expect(loaded > 0 && refused > 0)
    }
}
