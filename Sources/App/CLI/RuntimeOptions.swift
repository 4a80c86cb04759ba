import ArgumentParser
import Foundation
import InferenceRuntime
import Personalization

/// Options shared by the commands that run the model.
struct RuntimeOptions: ParsableArguments {
    /// The bundled model, fetched by `make setup`.
    static let defaultModelPath = "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(help: "GGUF model file (env POPI_MODEL).")
    var model: String = ProcessInfo.processInfo.environment["POPI_MODEL"] ?? defaultModelPath

    @Option(help: "Threads for the forward pass (env POPI_THREADS; default: the CPUs available).")
    var threads: Int = Int(ProcessInfo.processInfo.environment["POPI_THREADS"] ?? "") ?? ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("chat-template"), help: "Override the chat template recognised from the file (chatml, llama3).")
    var chatTemplate: String?

    func engine() throws -> InferenceEngine {
        var kind: ChatTemplate.Kind?
        if let chatTemplate {
            guard let parsed = ChatTemplate.Kind(rawValue: chatTemplate) else {
                throw ValidationError("--chat-template must be one of: \(ChatTemplate.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kind = parsed
        }
        return try InferenceEngine(configuration: EngineConfiguration(modelPath: model, threads: threads, chatTemplate: kind))
    }

    /// The engine as POPI's model (summaries, scoring, evaluation).
    func preferenceModel() throws -> RuntimeModel {
        RuntimeModel(engine: try engine(), modelID: URL(fileURLWithPath: model).lastPathComponent)
    }

    /// Command-line arguments arrive as bytes; Swift would silently repair invalid UTF-8, so it is
    /// rejected here with a clear error instead.
    static func checkArgumentsAreUTF8() throws {
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index] else { continue }
            let bytes = Array(UnsafeBufferPointer(start: argument, count: strlen(argument))).map { UInt8(bitPattern: $0) }
            if String(validating: bytes, as: UTF8.self) == nil {
                throw ValidationError("command-line argument \(index) is not valid UTF-8")
            }
        }
    }
}
