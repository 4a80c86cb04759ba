import Crypto
import Foundation
import InferenceRuntime
import Personalization

/// A LoRA adapter `popi serve` runs with (`--summarizer-adapter`, `--generator-adapter`), read
/// once at start and checked against the base model. Its SHA-256 identifies it in every summary
/// version it writes, in `/readyz` and in `/v1/models`.
struct ServedAdapter: Sendable {
    enum Role: String, Sendable {
        case summarizer
        case generator

        var flag: String { "--\(rawValue)-adapter" }
    }

    let role: Role
    let path: String
    /// SHA-256 of the file's bytes, lower-case hex.
    let sha256: String
    let adapter: LoRAAdapter
    /// The form a summarizer adapter writes summaries in (its label; `whole` for a generator's).
    let summaryForm: SummaryForm

    /// Reads and checks the adapter; the hash is of the same bytes that are loaded.
    static func load(_ role: Role, path: String, base: LlamaConfig) throws(ServedAdapterError) -> ServedAdapter {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe))
        } catch {
            throw .cannotRead(flag: role.flag, path: path, reason: (error as NSError).localizedDescription)
        }
        let adapter: LoRAAdapter
        do {
            adapter = try LoRAAdapter.load(bytes: bytes, base: base)
        } catch {
            throw .invalid(flag: role.flag, path: path, error)
        }
        let form: SummaryForm
        do {
            form = role == .summarizer ? try SummaryForm(adapter: adapter) : .whole
        } catch {
            throw .unusable(flag: role.flag, path: path, reason: error.description)
        }
        return ServedAdapter(role: role, path: path, sha256: SHA256.hex(bytes), adapter: adapter, summaryForm: form)
    }

    /// Rank of the adapter's projections (the largest, should they differ).
    var rank: Int { adapter.layout.widestRank }
}

/// An adapter `popi serve` cannot use; it stops at start with this message.
enum ServedAdapterError: Error, CustomStringConvertible {
    case cannotRead(flag: String, path: String, reason: String)
    case invalid(flag: String, path: String, AdapterError)
    case unusable(flag: String, path: String, reason: String)

    var description: String {
        switch self {
        case let .cannotRead(flag, path, reason):
            return "\(flag) \(path): cannot read the file: \(reason)"
        case let .invalid(flag, path, error):
            return "\(flag) \(path): \(error) (an adapter from `popi train` for this --model is expected)"
        case let .unusable(flag, path, reason):
            return "\(flag) \(path): \(reason)"
        }
    }
}
