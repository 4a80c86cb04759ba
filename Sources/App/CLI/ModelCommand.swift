import ArgumentParser
import Foundation
import InferenceRuntime

/// `popi model ...`: inspect model files.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Inspect GGUF model files.", subcommands: [ModelInfo.self])
}

struct ModelInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a model file's metadata, tensors by type, llama configuration, tokenizer and chat template, "
            + "or what a LoRA adapter file holds.")

    @Argument(help: "GGUF model file, or LoRA adapter file (llama.cpp's format).")
    var path: String

    @Option(help: "For an adapter: the base model file to check it against.")
    var base: String?

    @Flag(help: "Print every metadata entry (long values clipped).")
    var metadata = false

    @Option(name: .customLong("chat-template"), help: "Use this chat template family (chatml|llama3) instead of recognising the file's.")
    var chatTemplate: String?

    func run() throws {
        do {
            try report()
        } catch {
            throw CommandFailure("model info", error)
        }
    }

    private func report() throws {
        let residentBefore = ProcessMemory.residentBytes()
        let start = DispatchTime.now()
        let file = try GGUFFile.open(path: path)
        let opened = DispatchTime.now()
        let residentAfter = ProcessMemory.residentBytes()

        print("file        \(path)")
        print("size        \(file.fileSize) bytes, GGUF v\(file.version), alignment \(file.alignment), data at \(file.dataOffset)")
        print("metadata    \(file.metadata.count) entries")
        print("opened in   \(milliseconds(start, opened)) ms; resident memory +\(megabytes(residentAfter - residentBefore)) MB (mapped, not read)")
        if metadata {
            for key in file.metadataKeys { print("  \(key) = \(Self.show(file.metadata[key]!))") }
        }

        var byType: [GGMLType: (count: Int, bytes: Int)] = [:]
        for tensor in file.tensors.values {
            byType[tensor.type, default: (0, 0)].count += 1
            byType[tensor.type, default: (0, 0)].bytes += tensor.byteCount
        }
        print("tensors     \(file.tensors.count)")
        for (type, entry) in byType.sorted(by: { $0.value.bytes > $1.value.bytes }) {
            print("  \(type.description.padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(entry.count).leftPadded(4)) tensors \(String(entry.bytes).leftPadded(12)) bytes")
        }

        if base != nil || LoRAAdapterFile.isAdapter(file) {
            let baseModel = try base.map { path in (path: path, config: try LlamaConfig(gguf: GGUFFile.open(path: path))) }
            try AdapterInfo(file: LoRAAdapterFile(gguf: file)).print(base: baseModel)
            return
        }

        do {
            let c = try LlamaConfig(gguf: file)
            print("model       \(c.architecture): \(c.blockCount) layers, width \(c.embeddingLength), feed-forward \(c.feedForwardLength)")
            print("            heads \(c.headCount) (kv \(c.headCountKV)) × \(c.headDimension), RoPE base \(c.ropeFreqBase) over \(c.ropeDimensionCount) dims")
            print("            RMS eps \(c.rmsEpsilon), context \(c.contextLength), vocabulary \(c.vocabularySize), output \(c.tiedOutput ? "tied to token_embd" : "separate")")
        } catch {
            print("model       not runnable: \(error)")
        }

        let tokenizerStart = DispatchTime.now()
        do {
            let tokenizer = try Tokenizer(gguf: file)
            let built = DispatchTime.now()
            func name(_ id: Int32?) -> String {
                guard let id else { return "none" }
                return "\(id) \(String(decoding: tokenizer.piece(id) ?? [], as: UTF8.self).debugDescription)"
            }
            print("tokenizer   byte-level BPE, \(tokenizer.vocabularySize) tokens, \(tokenizer.mergeCount) merges, pre-tokenizer \(tokenizer.preTokenizer.rawValue) (\(tokenizer.preTokenizerName ?? "absent"))")
            print("            bos \(name(tokenizer.bos)), eos \(name(tokenizer.eos)), eot \(name(tokenizer.eot)), pad \(name(tokenizer.pad)), unk \(name(tokenizer.unk))")
            print("            end of generation: \(tokenizer.endOfGeneration.sorted().map { name($0) }.joined(separator: ", "))")
            let resident = ProcessMemory.residentBytes() - residentBefore
            print("            built in \(milliseconds(tokenizerStart, built)) ms; resident memory now +\(megabytes(resident)) MB in all")
        } catch {
            print("tokenizer   unusable: \(error)")
        }
        do {
            let template = try ChatTemplate(gguf: file, override: chatTemplate.map(ChatTemplate.Kind.init(argument:)))
            print("chat        \(template.kind.rawValue)" + (template.defaultSystemMessage.map { ", default system message \($0.debugDescription)" } ?? ""))
        } catch {
            print("chat        \(error)")
        }
    }

    private static func show(_ value: GGUFValue) -> String {
        switch value {
        case .string(let s): return s.count > 100 ? String(s.prefix(100)).debugDescription + "… (\(s.count) characters)" : s.debugDescription
        case .array(let a): return "[\(a.elementType) × \(a.count)]"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        default: return value.integer.map(String.init) ?? "\(value)"
        }
    }
}

func milliseconds(_ start: DispatchTime, _ end: DispatchTime) -> String {
    String(format: "%.1f", Double(end.uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
}

func megabytes(_ bytes: Int) -> String {
    String(format: "%.1f", Double(bytes) / 1_048_576)
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// The process's resident set size, from /proc/self/statm (0 where unavailable).
enum ProcessMemory {
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
