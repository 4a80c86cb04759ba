/// Adapters as files in llama.cpp's LoRA GGUF format (see `LoRAAdapterFile`).
extension LoRAAdapter {
    /// The adapter in the file at `path`, validated against `base`.
    public static func load(path: String, base: LlamaConfig) throws(AdapterError) -> LoRAAdapter {
        try LoRAAdapterFile.open(path: path).adapter(base: base)
    }

    /// The adapter in a file image held in memory, validated against `base`.
    public static func load(bytes: [UInt8], base: LlamaConfig) throws(AdapterError) -> LoRAAdapter {
        try LoRAAdapterFile(bytes: bytes).adapter(base: base)
    }

    /// Writes the adapter, all f32, for a base model of `architecture`; atomically, so a crash
    /// leaves the previous file or this one.
    public func write(path: String, architecture: String) throws(AdapterError) {
        do {
            try LoRAAdapterFile.writer(for: self, architecture: architecture).write(to: path)
        } catch {
            throw .cannotWrite(path: path, reason: Self.reason(error))
        }
    }

    /// The file `write(path:architecture:)` writes, in memory.
    public func fileBytes(architecture: String) -> [UInt8] {
        do {
            return try LoRAAdapterFile.writer(for: self, architecture: architecture).bytes()
        } catch {
            // The writer only refuses malformed tensors, and the layout makes them well-formed.
            preconditionFailure("adapter file image: \(error)")
        }
    }

    /// The writer's own description repeats the path.
    private static func reason(_ error: GGUFWriteError) -> String {
        if case let .cannotWrite(_, reason) = error { return reason }
        return error.description
    }
}
