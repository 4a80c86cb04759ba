import ArgumentParser
import Crypto
import Foundation
import InferenceRuntime

/// An adapter file named on the command line (`eval --adapter`, `train summarizer
/// --start-adapter`), loaded against the base and hashed from the same bytes, so a resumed run
/// can tell it apart from another file at the same path.
enum AdapterArgument {
    /// `what` names the file in the error ("adapter", "start adapter").
    static func load(_ path: String, what: String, base: LlamaConfig) throws -> (adapter: LoRAAdapter, sha256: String) {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read the \(what) \(path)") }
        let bytes = Array(data)
        return (try LoRAAdapter.load(bytes: bytes, base: base), SHA256.hex(bytes))
    }
}
