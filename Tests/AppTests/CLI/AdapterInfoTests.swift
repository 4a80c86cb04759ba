import Foundation
import InferenceRuntime
import Testing

/// `popi model info ADAPTER.gguf [--base MODEL.gguf]` as a process, on adapters for the default
/// model: what it says of an untrained and a trained adapter, without a base, and of bad ones.
@Suite struct AdapterInfoTests {
    private static let config = try! LlamaConfig(gguf: GGUFFile.open(path: AppTestEnvironment.modelPath))

    private static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("popi-adapter-info-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func describesAnUntrainedAdapter() throws {
        try #require(PopiProcess.isBuilt, "build popi first (swift build)")
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("untrained.gguf").path
        try LoRAAdapter(config: Self.config, rank: 8, alpha: 16, seed: 1).write(path: path, architecture: "llama")

        let result = try PopiProcess.run(["model", "info", path, "--base", AppTestEnvironment.modelPath])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(lines.contains { $0.hasPrefix("size        \(size) bytes, GGUF v3") })
        #expect(lines.contains("adapter     LoRA for llama, alpha 16.0"))
        #expect(lines.contains("rank        8, scale 2.0"))
        #expect(lines.contains("adapted     210 projections"))
        #expect(lines.contains("  attn_q       layers 0-29") && lines.contains("  ffn_down     layers 0-29"))
        #expect(lines.contains("parameters  2442240 (F32)"))
        #expect(lines.contains("base        \(AppTestEnvironment.modelPath): fits (llama, 30 layers, shapes and values checked)"))
        #expect(lines.contains("B           all zero: untrained, the adapter changes nothing"))
        #expect(lines.contains("  attn_q       0"))

        let alone = try PopiProcess.run(["model", "info", path])
        #expect(alone.status == 0, "\(alone.stderr)")
        #expect(alone.stdout.contains("adapter     LoRA for llama, alpha 16.0"))
        #expect(alone.stdout.contains("base        not given: add --base MODEL.gguf to check the adapter against its base model"))
        #expect(!alone.stdout.contains("B           "))
    }

    @Test func describesATrainedAdapterOnSomeLayers() throws {
        try #require(PopiProcess.isBuilt, "build popi first (swift build)")
        let shapes = [0, 1, 2, 3, 7].flatMap { layer in
            [LoRALayout.SlotShape(layer: layer, projection: .query, rank: 2), .init(layer: layer, projection: .value, rank: 4)]
        }
        let adapter = try LoRAAdapter(layout: LoRALayout(config: Self.config, shapes: shapes), alpha: 0)
        var random = RandomGenerator(seed: 3)
        for i in 0..<adapter.layout.parameterCount { adapter.parameters[i] = Float(random.nextUnit() - 0.5) }
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("trained.gguf").path
        try adapter.write(path: path, architecture: "llama")

        let result = try PopiProcess.run(["model", "info", path, "--base", AppTestEnvironment.modelPath])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("adapter     LoRA for llama, alpha 0.0 (0 or absent: scale 1)"))
        #expect(lines.contains("rank        2, 4, scale 1.0, 1.0"))
        #expect(lines.contains("  attn_q       layers 0-3, 7") && lines.contains("  attn_v       layers 0-3, 7"))
        #expect(!lines.contains { $0.hasPrefix("  attn_k") })
        #expect(lines.contains("B           not zero: trained"))

        // ‖B·A‖ summed over layers, formed here the long way.
        func norm(_ projection: LoRAProjection) -> Double {
            adapter.layout.slots.filter { $0.projection == projection }.reduce(0.0) { total, slot in
                var sum = 0.0
                for o in 0..<slot.outputs {
                    for i in 0..<slot.inputs {
                        var v = 0.0
                        for r in 0..<slot.rank { v += Double(adapter.b(slot)[o * slot.rank + r]) * Double(adapter.a(slot)[r * slot.inputs + i]) }
                        sum += v * v
                    }
                }
                return total + sum.squareRoot()
            }
        }
        for projection in [LoRAProjection.query, .value] {
            let line = try #require(lines.first { $0.hasPrefix("  \(projection.tensorName)") && !$0.contains("layers") })
            let printed = try #require(Double(line.split(separator: " ").last!))
            #expect(abs(printed - norm(projection)) <= 1e-5 * norm(projection), "\(line)")
        }
    }

    @Test func badAdaptersFailNamingTheTensor() throws {
        try #require(PopiProcess.isBuilt, "build popi first (swift build)")
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let adapter = try LoRAAdapter(config: Self.config, rank: 4, alpha: 8, seed: 1)

        let qwen = folder.appendingPathComponent("qwen2.gguf").path
        try adapter.write(path: qwen, architecture: "qwen2")
        let other = try PopiProcess.run(["model", "info", qwen, "--base", AppTestEnvironment.modelPath])
        #expect(other.status == 1)
        #expect(other.stderr.contains("popi model info: adapter is for architecture qwen2, the base model is llama"), "\(other.stderr)")

        // lora_b of attn_k as wide as attn_q's: a shape of another model.
        var writer = LoRAAdapterFile.writer(for: adapter, architecture: "llama")
        let k = try #require(writer.tensors.firstIndex { $0.name == "blk.5.attn_k.weight.lora_b" })
        writer.tensors[k].dimensions = [4, 576]
        writer.tensors[k].data = [UInt8](repeating: 0, count: 4 * 576 * 4)
        let shape = folder.appendingPathComponent("shape.gguf").path
        try writer.write(to: shape)
        let wrong = try PopiProcess.run(["model", "info", shape, "--base", AppTestEnvironment.modelPath])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("popi model info: adapter tensor blk.5.attn_k.weight.lora_b has shape [4, 576], dimension 1 must be 192"),
                "\(wrong.stderr)")

        // A model given as the adapter.
        let model = try PopiProcess.run(["model", "info", AppTestEnvironment.modelPath, "--base", AppTestEnvironment.modelPath])
        #expect(model.status == 1)
        #expect(model.stderr.contains("popi model info: not an adapter file: general.type is \"model\", expected \"adapter\""), "\(model.stderr)")
    }
}
