import Foundation

/// llama.cpp's next-token logits (llama-cpp-python 0.3.36) after token-id prompts, with or
/// without a LoRA adapter, from `scripts/llamacpp-lora-logits.py`: the reference for popi's
/// adapter files and adapter-applied logits.
///
/// The python is `POPI_TEST_LLAMA_PYTHON` (set by `scripts/with-llama-server.sh`, which `make test`
/// runs), else the venv `bench/llamacpp-venv.sh` builds, if it is already complete; tests never
/// build it (minutes of compiling). Without one, tests using this report themselves skipped with
/// `skipReason`.
enum LlamaCppLogits {
    struct TopLogit: Decodable, Sendable {
        let id: Int32
        let logit: Float
    }

    struct Case: Decodable, Sendable {
        let name: String
        let prompt_ids: [Int32]
        /// Highest logits first.
        let top: [TopLogit]
        /// Every logit, when asked for.
        let logits: [Float]?
    }

    private struct Prompt: Encodable {
        let name: String
        let prompt_ids: [Int32]
    }

    struct Output: Decodable, Sendable {
        let n_vocab: Int
        let cases: [Case]
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let script = TestModel.packageRoot.appendingPathComponent("scripts/llamacpp-lora-logits.py").path

    /// The venv's python, or nil.
    static let python: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let python = environment["POPI_TEST_LLAMA_PYTHON"], !python.isEmpty { return python }
        // Where bench/llamacpp-venv.sh puts the venv, its version read from the script itself.
        let builder = TestModel.packageRoot.appendingPathComponent("bench/llamacpp-venv.sh").path
        guard let text = try? String(contentsOfFile: builder, encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VERSION=") }) else { return nil }
        let version = line.dropFirst("VERSION=".count)
        let venv = environment["POPI_LLAMACPP_VENV"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/popi/llamacpp-venv-\(version)").path
        guard FileManager.default.fileExists(atPath: venv + "/.complete") else { return nil }
        return venv + "/bin/python"
    }()

    static var skipReason: String? {
        python == nil
            ? "no llama-cpp-python: set POPI_TEST_LLAMA_PYTHON (make test does) or build the venv once with bench/llamacpp-venv.sh"
            : nil
    }

    /// Evaluates each prompt from an empty cache, in one batch, without adding BOS.
    static func run(model: String, lora: String? = nil, loraScale: Float = 1, prompts: [(name: String, ids: [Int32])],
                    topK: Int = 10, allLogits: Bool = false) throws -> Output {
        guard let python else { throw Failure(description: skipReason!) }
        return try withTemporaryFolder { folder in
            let cases = folder.appendingPathComponent("cases.json"), errors = folder.appendingPathComponent("stderr")
            try JSONEncoder().encode(prompts.map { Prompt(name: $0.name, prompt_ids: $0.ids) }).write(to: cases)
            // stderr to a file, so only one pipe is read and neither can fill up and block the script.
            try Data().write(to: errors)

            var arguments = [script, "--model", model, "--cases", cases.path, "--top-k", String(topK)]
            if let lora { arguments += ["--lora", lora, "--lora-scale", String(loraScale)] }
            if allLogits { arguments.append("--all-logits") }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = arguments
            let out = Pipe()
            process.standardOutput = out
            process.standardError = try FileHandle(forWritingTo: errors)
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationReason == .exit, process.terminationStatus == 0 else {
                let how = process.terminationReason == .exit ? "exited with status" : "was killed by signal"
                throw Failure(description: "llamacpp-lora-logits.py \(how) \(process.terminationStatus): "
                              + ((try? String(contentsOf: errors, encoding: .utf8)) ?? ""))
            }
            return try JSONDecoder().decode(Output.self, from: stdout)
        }
    }
}
