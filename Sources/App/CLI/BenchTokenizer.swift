import ArgumentParser
import Foundation
import InferenceRuntime

/// `popi bench tokenizer`: tokenizer throughput on an English text (bench/english-text.sh makes one).
struct BenchTokenizer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Tokenizer throughput (MB/s) on a ~1 MB English text, plain mode.")

    @Option(help: "GGUF model file (env POPI_MODEL).")
    var model: String = ProcessInfo.processInfo.environment["POPI_MODEL"] ?? "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Option(help: "UTF-8 text file to tokenize (default: the one bench/english-text.sh writes).")
    var file: String = ".cache/bench/english-1mb.txt"

    @Option(help: "Timed runs (after one warm-up run).")
    var runs: Int = 5

    @Option(help: "Write the token ids of the text to this file, one per line (for comparison with a peer).")
    var idsOut: String?

    func validate() throws {
        guard (1...1000).contains(runs) else { throw ValidationError("--runs must be between 1 and 1000") }
    }

    func run() throws {
        do {
            guard FileManager.default.fileExists(atPath: file) else {
                throw ValidationError("no text at \(file): run bench/english-text.sh first, or pass --file")
            }
            let tokenizer = try Tokenizer(gguf: try GGUFFile.open(path: model))
            let bytes = try InputFile.read(file)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                _ = try tokenizer.encode(validatingUTF8: bytes, mode: .plain)  // throws, naming the offset
                return
            }
            var ids = tokenizer.encode(text, mode: .plain)
            var seconds: [Double] = []
            for _ in 0..<runs {
                let start = DispatchTime.now()
                ids = tokenizer.encode(text, mode: .plain)
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
            }
            let best = seconds.min() ?? 0
            let median = seconds.sorted()[seconds.count / 2]
            let megabytes = Double(bytes.count) / 1e6
            print(String(format: "popi tokenizer: %d bytes -> %d tokens; best %.1f ms (%.1f MB/s), median %.1f ms (%.1f MB/s) over %d runs",
                         bytes.count, ids.count, best * 1e3, megabytes / best, median * 1e3, megabytes / median, runs))
            if let idsOut {
                try (ids.map(String.init).joined(separator: "\n") + "\n").write(toFile: idsOut, atomically: true, encoding: .utf8)
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw CommandFailure("bench tokenizer", error)
        }
    }
}
