/// Turns generated token ids into text as they arrive, only ever emitting complete UTF-8
/// sequences: a character split over several byte tokens (emoji, CJK) is held back until its
/// last byte arrives. Bytes that can never form a character become U+FFFD as soon as that is
/// certain; `finish()` flushes an incomplete tail as U+FFFD.
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: Tokenizer
    private let renderSpecial: Bool
    private var pending: [UInt8] = []

    /// `renderSpecial`: control tokens appear as their text (default: they produce nothing).
    public init(tokenizer: Tokenizer, renderSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// The text completed by `id` (possibly empty).
    public mutating func append(_ id: Int32) throws -> String {
        pending += try tokenizer.decode([id], renderSpecial: renderSpecial)
        return takeComplete()
    }

    /// The rest: an unfinished sequence at the end becomes U+FFFD.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    private mutating func takeComplete() -> String {
        let keep = Self.incompleteTailLength(pending)
        let complete = pending[..<(pending.count - keep)]
        let text = String(decoding: complete, as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return text
    }

    /// Length of a trailing UTF-8 sequence that is valid so far but unfinished (0...3 bytes).
    static func incompleteTailLength(_ bytes: [UInt8]) -> Int {
        // Walk back over at most 3 continuation bytes to the lead byte of the last sequence.
        var start = bytes.count
        var continuations = 0
        while start > 0, continuations < 3, bytes[start - 1] & 0xC0 == 0x80 {
            start -= 1
            continuations += 1
        }
        guard start > 0 else { return 0 }
        let lead = bytes[start - 1]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 1
        case 0xE0...0xEF: needed = 2
        case 0xF0...0xF4: needed = 3
        default: return 0
        }
        guard continuations < needed else { return 0 }
        // Only hold back a prefix that can still become valid (second-byte ranges of UTF-8).
        let tail = Array(bytes[(start - 1)...])
        if tail.count >= 2 {
            let second = tail[1]
            switch lead {
            case 0xE0 where second < 0xA0, 0xED where second > 0x9F, 0xF0 where second < 0x90, 0xF4 where second > 0x8F:
                return 0
            default:
                break
            }
        }
        return tail.count
    }
}
