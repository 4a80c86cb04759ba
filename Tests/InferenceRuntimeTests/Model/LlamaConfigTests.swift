import Testing
import InferenceRuntime

@Suite struct LlamaConfigTests {
    @Test func readsTheDefaultModel() throws {
        let config = try LlamaConfig(gguf: TestModel.file)
        #expect(config.blockCount == 30)
        #expect(config.embeddingLength == 576)
        #expect(config.headCount == 9)
        #expect(config.headCountKV == 3)
        #expect(config.headDimension == 64)
        #expect(config.vocabularySize == 49152)
        #expect(config.feedForwardLength == 1536)
        #expect(config.ropeFreqBase == 100000)
        #expect(config.ropeDimensionCount == 64)
        #expect(config.rmsEpsilon == 1e-5)
        #expect(config.contextLength == 8192)
        #expect(config.tiedOutput)
        #expect(!config.hasRopeFrequencyFactors)
    }
}

@Suite struct LlamaConfigErrorTests {
    /// A tiny llama file: 2 layers, width 64, 2 heads of 32, feed-forward 64, vocabulary 4, no output.weight.
    static func writer(_ change: (inout [(String, GGUFValue)]) -> Void = { _ in }) -> GGUFWriter {
        var writer = GGUFWriter()
        var metadata: [(String, GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("llama.block_count", .uint32(2)), ("llama.embedding_length", .uint32(64)),
            ("llama.feed_forward_length", .uint32(64)), ("llama.attention.head_count", .uint32(2)),
            ("llama.attention.layer_norm_rms_epsilon", .float32(1e-6)), ("llama.context_length", .uint64(64)),
            ("tokenizer.ggml.tokens", .array(.string(["a", "b", "c", "d"]))),
        ]
        change(&metadata)
        writer.metadata = metadata
        writer.tensors = [GGUFWriter.Tensor(name: "token_embd.weight", type: .f32, dimensions: [64, 4],
                                            data: [UInt8](repeating: 0, count: 64 * 4 * 4))]
        return writer
    }

    @Test func defaultsFollowLlamaCpp() throws {
        let config = try LlamaConfig(gguf: GGUFFile(bytes: Self.writer().bytes()))
        #expect(config.headCountKV == 2 && config.headDimension == 32 && config.ropeDimensionCount == 32)
        #expect(config.ropeFreqBase == 10000 && config.vocabularySize == 4 && config.tiedOutput)
        #expect(config.contextLength == 64 && config.rmsEpsilon == 1e-6 && config.groupSize == 1 && config.kvDimension == 64)
    }

    static func error(_ change: (inout [(String, GGUFValue)]) -> Void) throws -> String {
        do {
            _ = try LlamaConfig(gguf: GGUFFile(bytes: Self.writer(change).bytes()))
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func errorsNameTheKeyAndValues() throws {
        #expect(try Self.error { $0[0].1 = .string("qwen2") } == "unsupported model architecture qwen2; supported: llama")
        #expect(try Self.error { $0.remove(at: 0) } == "metadata key general.architecture is missing")
        #expect(try Self.error { $0.remove(at: 1) } == "metadata key llama.block_count is missing")
        #expect(try Self.error { $0[4].1 = .uint32(3) }
            == "metadata key llama.embedding_length is 64: not a multiple of the head count 3")
        #expect(try Self.error { $0.append(("llama.attention.head_count_kv", .uint32(3))) }
            == "metadata key llama.attention.head_count_kv is 3: must divide the head count 2")
        #expect(try Self.error { $0[1].1 = .string("two") } == "metadata key llama.block_count is a string, expected integer")
        #expect(try Self.error { $0[1].1 = .int32(-2) } == "metadata key llama.block_count is -2: must be between 1 and 4096")
        #expect(try Self.error { $0[5].1 = .float32(.nan) }
            == "metadata key llama.attention.layer_norm_rms_epsilon is nan: must be between 0 and 1")
        #expect(try Self.error { $0.append(("llama.vocab_size", .uint32(5))) }
            == "tensor token_embd.weight has shape [64, 4], expected [64, 5]")
        #expect(try Self.error { $0.append(("llama.rope.dimension_count", .uint32(3))) }
            == "metadata key llama.rope.dimension_count is 3: must be even and at most the head dimension 32")
    }

    @Test func separateOutputIsChecked() throws {
        var writer = Self.writer()
        writer.tensors.append(GGUFWriter.Tensor(name: "output.weight", type: .f32, dimensions: [64, 4],
                                                data: [UInt8](repeating: 0, count: 64 * 4 * 4)))
        #expect(try !LlamaConfig(gguf: GGUFFile(bytes: writer.bytes())).tiedOutput)
        writer.tensors[1].dimensions = [4, 64]
        #expect(throws: ModelConfigError.tensorShapeMismatch(tensor: "output.weight", expected: [64, 4], found: [4, 64])) {
            try LlamaConfig(gguf: GGUFFile(bytes: writer.bytes()))
        }
    }

    /// Shapes the kernels cannot run are errors at load, not traps or skipped dimensions.
    @Test func shapesTheKernelsNeed() throws {
        #expect(try Self.error { $0[2].1 = .uint32(72) } == "metadata key llama.embedding_length is 72: must be a multiple of 32")
        #expect(try Self.error { $0[3].1 = .uint32(80) } == "metadata key llama.feed_forward_length is 80: must be a multiple of 32")
        #expect(try Self.error { $0[4].1 = .uint32(8) }
            == "metadata key llama.attention.head_count is 8: gives a head dimension of 8, which must be a multiple of 16 and at most 256")
        #expect(try Self.error { $0.append(("llama.attention.key_length", .uint32(24))) }
            == "metadata key llama.attention.key_length is 24: gives a head dimension of 24, which must be a multiple of 16 and at most 256")
        #expect(try Self.error { $0.append(("llama.attention.key_length", .uint32(512))) }
            == "metadata key llama.attention.key_length is 512: gives a head dimension of 512, which must be a multiple of 16 and at most 256")
        #expect(try Self.error { $0[4].1 = .uint32(3); $0.append(("llama.attention.key_length", .uint32(48))) }
            == "metadata key llama.attention.head_count is 3: times the head dimension 48 gives a query width of 144, which must be a multiple of 32")
    }

    @Test func contextLengthIsCapped() throws {
        let config = try LlamaConfig(gguf: GGUFFile(bytes: Self.writer { $0[6].1 = .uint64(1 << 24) }.bytes()))
        #expect(config.contextLength == LlamaConfig.maxContextLength)
        #expect(try Self.error { $0[6].1 = .uint64(1 << 40) } == "metadata key llama.context_length is 1099511627776: must be between 1 and 16777216")
    }

    @Test func ropeFrequencyFactorsAreChecked() throws {
        func config(_ factors: [Float], dimensions: [Int]? = nil) throws -> LlamaConfig {
            var writer = Self.writer()
            writer.tensors.append(GGUFWriter.Tensor(name: "rope_freqs.weight", type: .f32, dimensions: dimensions ?? [factors.count],
                                                    data: factors.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { [UInt8]($0) } }))
            return try LlamaConfig(gguf: GGUFFile(bytes: writer.bytes()))
        }
        let good = (0..<16).map { Float($0 + 1) / 4 }
        #expect(try config(good).ropeFrequencyFactors == good)
        for (bad, text) in [(Float.nan, "nan"), (.infinity, "inf"), (0, "0.0"), (-1, "-1.0")] {
            var factors = good
            factors[3] = bad
            #expect(throws: ModelConfigError.invalidTensorValue(tensor: "rope_freqs.weight", index: 3, value: text,
                                                                reason: "must be finite and greater than 0")) { try config(factors) }
        }
        #expect(throws: ModelConfigError.tensorShapeMismatch(tensor: "rope_freqs.weight", expected: [16], found: [8])) {
            try config(Array(good.prefix(8)))
        }
    }
}
