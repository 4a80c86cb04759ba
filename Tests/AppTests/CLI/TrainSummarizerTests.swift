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
}
