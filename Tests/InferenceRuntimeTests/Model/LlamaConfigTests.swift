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
