import Foundation
import Testing
@testable import InferenceRuntime

/// llama.cpp itself (llama-cpp-python 0.3.36) loads the adapter files popi writes, and an adapter
/// with nonzero B visibly moves its logits: so a test comparing popi's adapter-applied logits with
/// llama.cpp's cannot pass by both ignoring the adapter.
@Suite(.serialized, .timeLimit(.minutes(5)),
       .disabled(if: LlamaCppLogits.skipReason != nil, Comment(rawValue: LlamaCppLogits.skipReason ?? "")))
struct LoRAAdapterFileLlamaCppTests {
    /// Every projection of the default model at rank 8, B seeded uniform in ±`bound`: small next to
    /// the base weights, so the model stays sane, yet the top logits move.
    static func adapter(bound: Float) throws -> LoRAAdapter {
        let adapter = try LoRAAdapter(config: LlamaConfig(gguf: TestModel.file), rank: 8, alpha: 16, seed: 21)
        var random = RandomGenerator(seed: 22)
        for slot in adapter.layout.slots {
            for i in 0..<slot.bCount { adapter.b(slot)[i] = Float(2 * random.nextUnit() - 1) * bound }
        }
        return adapter
    }

    /// llama.cpp's logits (all of them) with `adapter` written to a file.
    static func run(_ adapter: LoRAAdapter, architecture: String, prompts: [(name: String, ids: [Int32])]) throws -> LlamaCppLogits.Case {
        try withTemporaryFolder { folder in
            let path = folder.appendingPathComponent("adapter.gguf").path
            try adapter.write(path: path, architecture: architecture)
            return try LlamaCppLogits.run(model: TestModel.path, lora: path, prompts: prompts, allLogits: true).cases[0]
        }
    }

    @Test func llamaCppAppliesWhatPopiWrites() throws {
        let adapter = try Self.adapter(bound: 0.02)
        let reference = ReferenceVectors.generation.prompts[0]
        let prompts = [(name: reference.name, ids: reference.prompt_ids)]
        let base = try LlamaCppLogits.run(model: TestModel.path, prompts: prompts, allLogits: true).cases[0]
        let adapted = try Self.run(adapter, architecture: "llama", prompts: prompts)

        // The script reproduces the reference vectors, within the tolerance the forward-pass tests
        // allow: a llama.cpp built for another CPU moves logits by up to ~0.2.
        let before = try #require(base.logits), after = try #require(adapted.logits)
        #expect(base.top[0].id == reference.next_token_top10[0].id)
        for entry in reference.next_token_top10 {
            #expect(abs(before[Int(entry.id)] - entry.logit) <= 0.5, "token \(entry.id)")
        }
        #expect(before.count == 49152 && after.count == before.count)
        #expect(after.allSatisfy { $0.isFinite })
        let change = zip(before, after).map { abs($0 - $1) }.max() ?? 0
        print("llama.cpp with popi's adapter: max |Δlogit| \(change), top token \(base.top[0].id) → \(adapted.top[0].id)")
        #expect(change > 0.5, "the adapter moves the logits (max |Δ| = \(change))")
        #expect(change < 10, "the adapter leaves the model sane (max |Δ| = \(change))")
    }

    /// An adapter with B zero changes nothing, in llama.cpp too: W·x + 0 is W·x exactly.
    @Test func anUntrainedAdapterChangesNothing() throws {
        let reference = ReferenceVectors.generation.prompts[1]
        let prompts = [(name: reference.name, ids: reference.prompt_ids)]
        let base = try LlamaCppLogits.run(model: TestModel.path, prompts: prompts, allLogits: true).cases[0]
        let adapted = try Self.run(Self.adapter(bound: 0), architecture: "llama", prompts: prompts)
        #expect(try #require(adapted.logits) == #require(base.logits))
    }

    /// llama.cpp refuses an adapter for another architecture, as popi does.
    @Test func llamaCppRefusesAnotherArchitecture() throws {
        #expect {
            try Self.run(Self.adapter(bound: 0), architecture: "qwen2", prompts: [("one", [1])])
        } throws: { error in
            "\(error)".contains("llama.cpp refused the LoRA adapter") && "\(error)".contains("arch mismatch")
        }
    }

    /// The cross-check with a real peer: on every reference prompt, popi's inference path with an
    /// adapter gives llama.cpp's next-token logits (llama.cpp loading the file popi wrote) within
    /// the runtime tests' tolerance: each of llama.cpp's top 10 within 0.5. The same bound holds
    /// without the adapter, and the adapter moves llama.cpp's top logits by more than that, so
    /// ignoring it would fail.
    @Test func popiAppliesAnAdapterAsLlamaCppDoes() throws {
        let adapter = try Self.adapter(bound: 0.02)
        let prompts = ReferenceVectors.generation.prompts.map { (name: $0.name, ids: $0.prompt_ids) }
        let (model, cache) = LlamaModelTests.makeModel()
        var largestMove: Float = 0
        try withTemporaryFolder { folder in
            let path = folder.appendingPathComponent("adapter.gguf").path
            try adapter.write(path: path, architecture: "llama")
            let peerBase = try LlamaCppLogits.run(model: TestModel.path, prompts: prompts, allLogits: true).cases
            let peerAdapted = try LlamaCppLogits.run(model: TestModel.path, lora: path, prompts: prompts, allLogits: true).cases
            for (index, prompt) in prompts.enumerated() {
                for (peer, withAdapter) in [(peerBase[index], false), (peerAdapted[index], true)] {
                    let ours = try LlamaModelTests.logits(model, cache, prompt.ids, adapter: withAdapter ? adapter : nil).last!
                    let worst = peer.top.map { abs(ours[Int($0.id)] - $0.logit) }.max()!
                    print("\(prompt.name) \(withAdapter ? "with" : "without") adapter: max |popi − llama.cpp| over llama.cpp's top 10 = \(worst)")
                    #expect(worst <= 0.5, "\(prompt.name), adapter \(withAdapter)")
                }
                let before = try #require(peerBase[index].logits), after = try #require(peerAdapted[index].logits)
                largestMove = max(largestMove, peerAdapted[index].top.map { abs(after[Int($0.id)] - before[Int($0.id)]) }.max()!)
            }
        }
        #expect(largestMove > 0.5, "the adapter moves llama.cpp's top logits by up to \(largestMove)")
    }
}
