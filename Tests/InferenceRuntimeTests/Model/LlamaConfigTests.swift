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
    /// A tiny llama file: 2 layers, width 8, 2 heads, vocabulary 4, no output.weight.
    static func writer(_ change: (inout [(String, GGUFValue)]) -> Void = { _ in }) -> GGUFWriter {
        var writer = GGUFWriter()
        var metadata: [(String, GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("llama.block_count", .uint32(2)), ("llama.embedding_length", .uint32(8)),
            ("llama.feed_forward_length", .uint32(16)), ("llama.attention.head_count", .uint32(2)),
            ("llama.attention.layer_norm_rms_epsilon", .float32(1e-6)), ("llama.context_length", .uint64(64)),
            ("tokenizer.ggml.tokens", .array(.string(["a", "b", "c", "d"]))),
        ]
        change(&metadata)
        writer.metadata = metadata
        writer.tensors = [GGUFWriter.Tensor(name: "token_embd.weight", type: .f32, dimensions: [8, 4],
                                            data: [UInt8](repeating: 0, count: 8 * 4 * 4))]
        return writer
    }

    @Test func defaultsFollowLlamaCpp() throws {
        let config = try LlamaConfig(gguf: GGUFFile(bytes: Self.writer().bytes()))
        #expect(config.headCountKV == 2 && config.headDimension == 4 && config.ropeDimensionCount == 4)
        #expect(config.ropeFreqBase == 10000 && config.vocabularySize == 4 && config.tiedOutput)
        #expect(config.contextLength == 64 && config.rmsEpsilon == 1e-6 && config.groupSize == 1 && config.kvDimension == 8)
    }

    @Test func errorsNameTheKeyAndValues() throws {
        func error(_ change: (inout [(String, GGUFValue)]) -> Void) throws -> String {
            do {
                _ = try LlamaConfig(gguf: GGUFFile(bytes: Self.writer(change).bytes()))
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(try error { $0[0].1 = .string("qwen2") } == "unsupported model architecture qwen2; supported: llama")
        #expect(try error { $0.remove(at: 0) } == "metadata key general.architecture is missing")
        #expect(try error { $0.remove(at: 1) } == "metadata key llama.block_count is missing")
        #expect(try error { $0[4].1 = .uint32(3) }
            == "metadata key llama.embedding_length is 8: not a multiple of the head count 3")
        #expect(try error { $0.append(("llama.attention.head_count_kv", .uint32(3))) }
            == "metadata key llama.attention.head_count_kv is 3: must divide the head count 2")
        #expect(try error { $0[1].1 = .string("two") } == "metadata key llama.block_count is a string, expected integer")
        #expect(try error { $0[1].1 = .int32(-2) } == "metadata key llama.block_count is -2: must be between 1 and 4096")
        #expect(try error { $0[5].1 = .float32(.nan) }
            == "metadata key llama.attention.layer_norm_rms_epsilon is nan: must be between 0 and 1")
        #expect(try error { $0.append(("llama.vocab_size", .uint32(5))) }
            == "tensor token_embd.weight has shape [8, 4], expected [8, 5]")
        #expect(try error { $0.append(("llama.rope.dimension_count", .uint32(3))) }
            == "metadata key llama.rope.dimension_count is 3: must be even and at most the head dimension 4")
    }

    @Test func separateOutputIsChecked() throws {
        var writer = Self.writer()
        writer.tensors.append(GGUFWriter.Tensor(name: "output.weight", type: .f32, dimensions: [8, 4],
                                                data: [UInt8](repeating: 0, count: 128)))
        #expect(try !LlamaConfig(gguf: GGUFFile(bytes: writer.bytes())).tiedOutput)
        writer.tensors[1].dimensions = [4, 8]
        #expect(throws: ModelConfigError.tensorShapeMismatch(tensor: "output.weight", expected: [8, 4], found: [4, 8])) {
            try LlamaConfig(gguf: GGUFFile(bytes: writer.bytes()))
        }
    }
}
