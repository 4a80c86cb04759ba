import ArgumentParser
import Foundation
import InferenceRuntime

/// `popi bench runtime` (the default of `popi bench`): prefill, decode, time to first token and
/// peak memory of the local model; bench/runtime-vs-llamacpp.sh runs it next to llama.cpp.
struct BenchRuntime: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime",
        abstract: "Prefill tok/s (64/256/1024), decode tok/s (128 tokens after 16 and 1024), TTFT(256), batched decode, peak RSS.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Run every token with a LoRA adapter of this rank on every projection.")
    var adapterRank: Int?

    @Flag(help: "Print only the JSON (default: the table, then the JSON).")
    var json = false

    func validate() throws {
        if let adapterRank, !(1...512).contains(adapterRank) {
            throw ValidationError("--adapter-rank must be between 1 and 512")
        }
    }

    func run() throws {
        do {
            var results: [RuntimeBenchmark.Result] = []
            for count in options.threads {
                results.append(try RuntimeBenchmark.run(modelPath: options.model, threads: count, repeats: options.repeats, adapterRank: adapterRank))
            }
            let encoded = try BenchOptions.json(results)
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
