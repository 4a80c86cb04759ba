import Foundation
import InferenceRuntime

/// The repository's default model (fetched by `scripts/setup.sh`) and the test fixtures.
enum TestModel {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let path = packageRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static let fixtures = packageRoot.appendingPathComponent("Tests/InferenceRuntimeTests/Fixtures")

    /// Opened once per test process: the file is mapped, so sharing it costs nothing.
    static let file: GGUFFile = {
        do { return try GGUFFile.open(path: path) } catch { fatalError("default model missing: run scripts/setup.sh (\(error))") }
    }()
}

extension TestModel {
    /// The default model's tokenizer, built once per test process.
    static let tokenizer: Tokenizer = {
        do { return try Tokenizer(gguf: file) } catch { fatalError("tokenizer of the default model: \(error)") }
    }()
}
