/// Finds special tokens written out in text, the way llama.cpp partitions text before BPE:
/// tokens are tried longest first (ties by id); each claims its leftmost non-overlapping
/// occurrences in the text not claimed yet. Control and unknown tokens are only recognised in
/// template mode; user-defined tokens (added vocabulary words) in both modes, as in llama.cpp
/// and Hugging Face tokenizers.
struct SpecialTokenMatcher: Sendable {
    enum Fragment {
        case text(Range<Int>)
        case token(Int32)
    }

    private struct Entry {
        let id: Int32
        let bytes: [UInt8]
        let templateOnly: Bool
    }

    private let entries: [Entry]
    /// Bytes that start some special token, per mode: a text with none of them has no token.
    private let templateFirstBytes: [Bool]
    private let plainFirstBytes: [Bool]

    init(tokens: [(id: Int32, text: String, templateOnly: Bool)]) {
        entries = tokens.compactMap { token in
            let bytes = Array(token.text.utf8)
            return bytes.isEmpty ? nil : Entry(id: token.id, bytes: bytes, templateOnly: token.templateOnly)
        }.sorted { ($0.bytes.count, -$0.id) > ($1.bytes.count, -$1.id) }
        var template = [Bool](repeating: false, count: 256)
        var plain = [Bool](repeating: false, count: 256)
        for entry in entries {
            template[Int(entry.bytes[0])] = true
            if !entry.templateOnly { plain[Int(entry.bytes[0])] = true }
        }
        templateFirstBytes = template
        plainFirstBytes = plain
    }

    /// Calls `body` with the text fragments and special tokens of `text`, in order.
    func partition(_ text: UnsafeBufferPointer<UInt8>, template: Bool, _ body: (Fragment) -> Void) {
        let firstBytes = template ? templateFirstBytes : plainFirstBytes
        var candidates: [Int] = []
        for (pos, byte) in text.enumerated() where firstBytes[Int(byte)] { candidates.append(pos) }
        guard !candidates.isEmpty else {
            if !text.isEmpty { body(.text(0..<text.count)) }
            return
        }
        var claimed = [Bool](repeating: false, count: text.count)
        var found: [(start: Int, entry: Int)] = []
        for (index, entry) in entries.enumerated() where template || !entry.templateOnly {
            let length = entry.bytes.count
            let first = entry.bytes[0]
            for pos in candidates where text[pos] == first && pos + length <= text.count && !claimed[pos] {
                guard matches(entry.bytes, text, at: pos), !(pos..<(pos + length)).contains(where: { claimed[$0] }) else { continue }
                for i in pos..<(pos + length) { claimed[i] = true }
                found.append((pos, index))
            }
        }
        found.sort { $0.start < $1.start }
        var cursor = 0
        for match in found {
            if cursor < match.start { body(.text(cursor..<match.start)) }
            body(.token(entries[match.entry].id))
            cursor = match.start + entries[match.entry].bytes.count
        }
        if cursor < text.count { body(.text(cursor..<text.count)) }
    }

    private func matches(_ pattern: [UInt8], _ text: UnsafeBufferPointer<UInt8>, at pos: Int) -> Bool {
        for i in 0..<pattern.count where text[pos + i] != pattern[i] { return false }
        return true
    }
}
