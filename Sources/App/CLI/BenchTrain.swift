import ArgumentParser
import Foundation
import InferenceRuntime

/// `popi bench train`: forward + backward tokens per second of a GRPO-shaped batch with a LoRA
/// adapter, the time split and peak memory.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training throughput: one prompt + continuations, forward + backward with a LoRA adapter.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Prompt tokens (run once, shared by the continuations).")
    var promptTokens = 1500

    @Option(help: "Continuations per prompt.")
    var continuations = 8

    @Option(help: "Tokens per continuation.")
    var continuationTokens = 100

    @Option(help: "Adapter rank.")
    var rank = 16

    @Flag(help: "Print only the JSON.")
    var json = false

    func validate() throws {
        guard (1...8192).contains(promptTokens), (1...64).contains(continuations), (1...2048).contains(continuationTokens) else {
            throw ValidationError("--prompt-tokens 1...8192, --continuations 1...64, --continuation-tokens 1...2048")
        }
        guard (1...256).contains(rank) else { throw ValidationError("--rank must be between 1 and 256") }
    }

    func run() throws {
        do {
            var results: [TrainingBenchmark.Result] = []
            for count in options.threads {
                results.append(try TrainingBenchmark.run(
                    modelPath: options.model, threads: count, repeats: options.repeats, promptTokens: promptTokens,
                    continuations: continuations, continuationTokens: continuationTokens, rank: rank))
            }
            let encoded = try BenchOptions.json(results)
            if json {
                print(encoded)
                return
            }
            print("batch: 1 prompt of \(promptTokens) tokens + \(continuations) x \(continuationTokens), rank \(rank), "
                  + "CPU: \(CPUModel.name)")
            print("threads  tokens/s  forward(s)  backward(s)  optimizer(s)  peakRSS(MiB)")
            for r in results {
                print(String(format: "%7d  %8.1f  %10.2f  %11.2f  %12.3f  %12.1f", r.threads, r.tokensPerSecond, r.forwardSeconds,
                             r.backwardSeconds, r.optimizerSeconds, r.peakRSSMiB))
            }
            print(encoded)
        } catch {
            throw CommandFailure("bench train", error)
        }
    }
}
