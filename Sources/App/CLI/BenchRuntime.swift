import ArgumentParser
import Foundation
import InferenceRuntime

/// `popi bench runtime` (the default of `popi bench`): prefill, decode, time to first token and
/// peak memory of the local model; bench/runtime-vs-llamacpp.sh runs it next to llama.cpp.
struct BenchRuntime: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime",
        abstract: "Prefill tok/s (64/256/1024), decode tok/s (128 tokens after 16 and 1024), TTFT(256), batched decode, peak RSS.")

    @Option(help: "GGUF model file (env POPI_MODEL).")
    var model: String = ProcessInfo.processInfo.environment["POPI_MODEL"] ?? "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(help: "Thread counts to measure (repeatable).")
    var threads: [Int] = [1, 2]

    @Option(help: "Repetitions per measurement (the best is kept).")
    var repeats = 3

    @Option(help: "Run every token with a LoRA adapter of this rank on every projection.")
    var adapterRank: Int?

    @Flag(help: "Print only the JSON (default: the table, then the JSON).")
    var json = false

    func validate() throws {
        guard threads.allSatisfy({ (1...256).contains($0) }) else { throw ValidationError("--threads must be between 1 and 256") }
        guard (1...100).contains(repeats) else { throw ValidationError("--repeats must be between 1 and 100") }
        if let adapterRank, !(1...512).contains(adapterRank) {
            throw ValidationError("--adapter-rank must be between 1 and 512")
        }
    }

    func run() throws {
        do {
            var results: [RuntimeBenchmark.Result] = []
            for count in threads {
                results.append(try RuntimeBenchmark.run(modelPath: model, threads: count, repeats: repeats, adapterRank: adapterRank))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let encoded = String(decoding: try encoder.encode(results), as: UTF8.self)
            if json {
                print(encoded)
                return
            }
            func cell(_ value: Double) -> String { String(format: "%9.1f", value) }
            if let adapterRank { print("every token with a rank-\(adapterRank) LoRA adapter on every projection") }
            print("threads  prefill64  prefill256  prefill1024  decode@16  decode@1024  batch8-decode  TTFT256(ms)  peakRSS(MiB)")
            for r in results {
                print("\(String(format: "%7d", r.threads))  \(cell(r.prefill["64"] ?? 0))  \(cell(r.prefill["256"] ?? 0))   "
                      + "\(cell(r.prefill["1024"] ?? 0))    \(cell(r.decode["16"] ?? 0))  \(cell(r.decode["1024"] ?? 0))      "
                      + "\(cell(r.batchedDecode8))    \(cell(r.timeToFirstTokenMs))     \(cell(r.peakRSSMiB))")
            }
            print("(tokens per second unless noted; peak RSS is the process's after all rows so far)")
            print(encoded)
        } catch {
            throw CommandFailure("bench runtime", error)
        }
    }
}
