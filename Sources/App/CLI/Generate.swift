import ArgumentParser
import Foundation
import InferenceRuntime
import Personalization

/// `popi generate`: the model's answer to a prompt, streamed to standard output.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate a response to a prompt with the local model (streams to stdout).")

    @OptionGroup var runtime: RuntimeOptions

    @Option(help: "System message (default: the chat template's own, if any).")
    var system: String?

    @Option(help: "The user's prompt.")
    var prompt: String?

    @Option(name: .customLong("prompt-file"), help: "Read the prompt from a file ('-' for standard input).")
    var promptFile: String?

    @Option(help: "A preference summary: the prompt is personalized with it as the service does (generator prompt \(PromptBuilder.version)).")
    var summary: String?

    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate.")
    var maxTokens = 256

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0.8

    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass, in (0, 1].")
    var topP: Float = 0.95

    @Option(name: .customLong("top-k"), help: "Sample among the k most likely tokens; 0 for all.")
    var topK = 40

    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than this fraction of the most likely one.")
    var minP: Float = 0.05

    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (1 disables).")
    var repeatPenalty: Float = 1

    @Option(help: "Random seed (same seed and prompt give the same output).")
    var seed: UInt64?

    @Option(help: "Stop before this string (repeatable).")
    var stop: [String] = []

    func validate() throws {
        guard (prompt == nil) != (promptFile == nil) else { throw ValidationError("give either --prompt or --prompt-file") }
        if let summary, summary.allSatisfy(\.isWhitespace) { throw ValidationError("--summary is empty") }
        try RuntimeOptions.checkArgumentsAreUTF8()
    }

    func run() throws {
        do {
            let sampling = SamplingParameters(maxTokens: maxTokens, temperature: temperature, topK: topK, topP: topP, minP: minP,
                                              repetitionPenalty: repeatPenalty, seed: seed, stop: stop)
            try sampling.validate()
            var text = try promptFile.map { try Prompt.text(utf8: try InputFile.read($0)) } ?? prompt ?? ""
            let model = try runtime.preferenceModel()
            let engine = model.engine
            if let summary {
                text = PromptBuilder(model: model).generatorTurns(summary: summary, prompt: text)[0].content
            }
            let request = Prompt.user(text, system: system)
            let result = try engine.generateBlocking(GenerationRequest(prompt: request, sampling: sampling)) { _, text in
                FileHandle.standardOutput.write(Data(text.utf8))
            }
            print("")
            let generation = result[0]
            FileHandle.standardError.write(Data(
                "[\(generation.promptTokenCount) prompt tokens, \(generation.tokens.count) generated, finish: \(generation.finishReason.rawValue), seed \(generation.seed)]\n".utf8))
        } catch {
            throw CommandFailure("generate", error)
        }
    }
}
