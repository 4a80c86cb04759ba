import ArgumentParser
import Foundation

/// What every `popi bench` measurement takes: the model, the thread counts and the repetitions
/// (the best of which is kept); and how results are printed as JSON.
struct BenchOptions: ParsableArguments {
    @Option(help: "GGUF model file (env POPI_MODEL).")
    var model: String = ProcessInfo.processInfo.environment["POPI_MODEL"] ?? "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(help: "Thread counts to measure (repeatable).")
    var threads: [Int] = [1, 2]

    @Option(help: "Repetitions per measurement (the best is kept).")
    var repeats = 3

    func validate() throws {
        guard threads.allSatisfy({ (1...256).contains($0) }) else { throw ValidationError("--threads must be between 1 and 256") }
        guard (1...100).contains(repeats) else { throw ValidationError("--repeats must be between 1 and 100") }
    }

    /// Results as JSON with sorted keys, so runs compare line by line.
    static func json(_ results: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(results), as: UTF8.self)
    }
}
