import ArgumentParser
import Foundation
import InferenceRuntime

/// `popi tokenize`: token ids of a text with a model's own tokenizer.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids (and pieces) of a text.")

    @Option(help: "GGUF model file (env POPI_MODEL).")
    var model: String = ProcessInfo.processInfo.environment["POPI_MODEL"] ?? "models/SmolLM2-135M-Instruct.Q4_1.gguf"

    @Flag(help: "Template mode: recognise control tokens such as <|im_start|> in the text (default: plain text).")
    var special = false

    @Flag(help: "Print JSON {\"ids\": [...], \"pieces\": [...]}.")
    var json = false

    @Option(help: "Read the text from a file ('-' for standard input) instead of the argument.")
    var file: String?

    @Argument(help: "The text.")
    var text: String?

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give either TEXT or --file") }
    }

    func run() throws {
        do {
            let tokenizer = try Tokenizer(gguf: try GGUFFile.open(path: model))
            let mode: Tokenizer.Mode = special ? .template : .plain
            let ids: [Int32]
            if let file {
                ids = try tokenizer.encode(validatingUTF8: try InputFile.read(file), mode: mode)
            } else {
                ids = tokenizer.encode(text ?? "", mode: mode)
            }
            let pieces = ids.map { String(decoding: tokenizer.piece($0) ?? [], as: UTF8.self) }
            if json {
                let object: [String: Any] = ["ids": ids.map(Int.init), "pieces": pieces]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                for (id, piece) in zip(ids, pieces) { print("\(String(id).leftPadded(6))  \(piece.debugDescription)") }
                print("\(ids.count) tokens")
            }
        } catch {
            throw CommandFailure("tokenize", error)
        }
    }
}
