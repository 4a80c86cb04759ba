import Foundation
import Testing

/// `popi train summarizer`'s flags, checked before anything is loaded.
struct TrainSummarizerTests {
    @Test func anUnknownMethodIsRefusedByName() throws {
        try #require(PopiProcess.isBuilt, "build popi first (swift build)")
        let (status, _, stderr) = try PopiProcess.run(["train", "summarizer", "--dataset", "/nonexistent.jsonl",
                                                       "--out", "/nonexistent/a.gguf", "--method", "bogus"])
        #expect(status == 64, "\(stderr)")
        #expect(stderr.contains("--method must be one of: grpo, distill, supervised, notes"), "\(stderr)")
    }

    /// A start adapter that cannot be read is a usage error; a file that is not an adapter stops
    /// the run with the loader's reason; neither writes an adapter.
    @Test func aBadStartAdapterIsRefusedWithItsReason() throws {
        try #require(PopiProcess.isBuilt, "build popi first (swift build)")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("popi-start-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let dataset = AppTestEnvironment.packageRoot.appendingPathComponent("Tests/PersonalizationTests/Fixtures/train-tiny.jsonl").path
        func train(start: String) throws -> (status: Int32, stdout: String, stderr: String) {
            try PopiProcess.run(["train", "summarizer", "--dataset", dataset, "--out", "\(folder)/a.gguf", "--steps", "1",
                                 "--start-adapter", start, "--model", AppTestEnvironment.modelPath])
        }
        let missing = try train(start: "\(folder)/missing.gguf")
        #expect(missing.status == 64, "\(missing.stderr)")
        #expect(missing.stderr.contains("cannot read the start adapter \(folder)/missing.gguf"), "\(missing.stderr)")
        try Data("not a gguf".utf8).write(to: URL(fileURLWithPath: "\(folder)/bad.gguf"))
        let bad = try train(start: "\(folder)/bad.gguf")
        #expect(bad.status == 1, "\(bad.stderr)")
        #expect(bad.stderr.contains("not a GGUF file"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(folder)/a.gguf"))
    }
}
