/// Splits text into the words BPE merges within, as the pre-tokenizer named by
/// `tokenizer.ggml.pre` does in llama.cpp. Each is written by hand as a scan over code points
/// (no regex engine); the comments give the regular expression each one implements.
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// `\p{N}` (every digit alone), then the GPT-2 expression on the rest (SmolLM, StarCoder).
    case smollm
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// As llama3 but `\p{N}` (single digits).
    case qwen2
    /// llama.cpp's fallback: `[\p{P}\$\+<=>\^~\|]+`, then GPT-2, then `\p{N}+`, then `[0-9][0-9][0-9]`.
    case `default`

    /// The pre-tokenizer for a `tokenizer.ggml.pre` value (nil: absent), with llama.cpp's aliases.
    public init?(ggmlName name: String?) {
        guard let name, !name.isEmpty else {
            self = .default
            return
        }
        switch name {
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "mellum2":
            self = .smollm
        case "gpt2", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
             "mellum", "modern-bert", "exaone4", "mpt", "olmo", "jais", "trillion", "granite-docling",
             "jina-v1-en", "jina-v2-code", "roberta-bpe":
            self = .gpt2
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
             "jina-v5-nano", "dbrx", "smaug-bpe":
            self = .llama3
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open":
            self = .qwen2
        case "default":
            self = .default
        default:
            return nil
        }
    }

    /// llama.cpp skips BPE for a word that is itself a token with these (Llama 3 family).
    static func ignoresMerges(ggmlName name: String?) -> Bool {
        ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"]
            .contains(name ?? "")
    }

    /// Appends the end index (in code points) of every word of `text[range]` to `ends`.
    func split(_ text: CodePoints, _ range: Range<Int>, into ends: inout [Int]) {
        guard !range.isEmpty else { return }
        switch self {
        case .smollm:
            Self.eachDigitAlone(text, range, into: &ends) { gap, ends in Self.gpt2Words(text, gap, into: &ends) }
        case .gpt2:
            Self.gpt2Words(text, range, into: &ends)
        case .llama3:
            Self.llama3Words(text, range, maximumDigits: 3, into: &ends)
        case .qwen2:
            Self.llama3Words(text, range, maximumDigits: 1, into: &ends)
        case .default:
            Self.defaultWords(text, range, into: &ends)
        }
    }

    // MARK: - Expressions

    /// Each `\p{N}` code point is a word; the text between them goes to `gap`.
    private static func eachDigitAlone(_ text: CodePoints, _ range: Range<Int>, into ends: inout [Int],
                                       gap: (Range<Int>, inout [Int]) -> Void) {
        var start = range.lowerBound
        for i in range where text.classes[i] & CharacterClass.number != 0 {
            if start < i { gap(start..<i, &ends) }
            ends.append(i + 1)
            start = i + 1
        }
        if start < range.upperBound { gap(start..<range.upperBound, &ends) }
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `pos`: the length matched, or 0. `foldCase` for `(?i:...)`.
    @inline(__always)
    private static func contraction(_ text: CodePoints, _ pos: Int, _ end: Int, foldCase: Bool) -> Int {
        guard text.scalars[pos] == 0x27, pos + 1 < end else { return 0 }
        func lower(_ c: UInt32) -> UInt32 { foldCase && c >= 0x41 && c <= 0x5A ? c + 32 : c }
        let c1 = lower(text.scalars[pos + 1])
        if c1 == 0x73 || c1 == 0x74 || c1 == 0x6D || c1 == 0x64 { return 2 }  // s t m d
        guard pos + 2 < end else { return 0 }
        let c2 = lower(text.scalars[pos + 2])
        if (c1 == 0x72 && c2 == 0x65) || (c1 == 0x76 && c2 == 0x65) || (c1 == 0x6C && c2 == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    /// The whitespace alternatives shared by all expressions, at a whitespace run starting at
    /// `pos`: `\s+(?!\S)` keeps the last whitespace for the next word unless the run ends the
    /// range; `\s+` otherwise. With `newlines`, `\s*[\r\n]+` first takes the run up to its last
    /// line break. Returns the end of the word.
    @inline(__always)
    private static func whitespaceWord(_ text: CodePoints, _ pos: Int, _ end: Int, newlines: Bool) -> Int {
        var n = 0
        var afterLastBreak = -1
        while pos + n < end, text.classes[pos + n] & CharacterClass.whitespace != 0 {
            let c = text.scalars[pos + n]
            if c == 0x0A || c == 0x0D { afterLastBreak = pos + n + 1 }
            n += 1
        }
        if newlines, afterLastBreak >= 0 { return afterLastBreak }
        if n > 1, pos + n < end { return pos + n - 1 }
        if n > 0 { return pos + n }
        return pos + 1
    }

    private static let wordClasses = CharacterClass.letter | CharacterClass.number | CharacterClass.whitespace

    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    private static func gpt2Words(_ text: CodePoints, _ range: Range<Int>, into ends: inout [Int]) {
        let end = range.upperBound
        var pos = range.lowerBound
        while pos < end {
            let c = text.scalars[pos]
            let n = contraction(text, pos, end, foldCase: false)
            if n > 0 {
                pos += n
                ends.append(pos)
                continue
            }
            // A leading space joins a following letter, number or symbol run.
            let space = c == 0x20 && pos + 1 < end
            let lead = space ? text.classes[pos + 1] : (c == 0x20 ? CharacterClass.whitespace : text.classes[pos])
            if lead & CharacterClass.letter != 0 || lead & CharacterClass.number != 0 {
                let kind = lead & (CharacterClass.letter | CharacterClass.number)
                pos += space ? 1 : 0
                while pos < end, text.classes[pos] & kind != 0 { pos += 1 }
            } else if lead & wordClasses == 0 {
                pos += space ? 1 : 0
                while pos < end, text.classes[pos] & wordClasses == 0 { pos += 1 }
            } else {
                pos = whitespaceWord(text, pos, end, newlines: false)
            }
            ends.append(pos)
        }
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    private static func llama3Words(_ text: CodePoints, _ range: Range<Int>, maximumDigits: Int, into ends: inout [Int]) {
        let end = range.upperBound
        var pos = range.lowerBound
        while pos < end {
            let c = text.scalars[pos]
            let flags = text.classes[pos]
            let n = contraction(text, pos, end, foldCase: true)
            if n > 0 {
                pos += n
                ends.append(pos)
                continue
            }
            let isBreak = c == 0x0A || c == 0x0D
            if !isBreak, flags & CharacterClass.number == 0,
               flags & CharacterClass.letter != 0 || (pos + 1 < end && text.classes[pos + 1] & CharacterClass.letter != 0) {
                pos += 1
                while pos < end, text.classes[pos] & CharacterClass.letter != 0 { pos += 1 }
                ends.append(pos)
                continue
            }
            if flags & CharacterClass.number != 0 {
                var digits = 0
                while pos < end, digits < maximumDigits, text.classes[pos] & CharacterClass.number != 0 {
                    pos += 1
                    digits += 1
                }
                ends.append(pos)
                continue
            }
            let space = c == 0x20 && pos + 1 < end
            let lead = space ? text.classes[pos + 1] : (c == 0x20 ? CharacterClass.whitespace : flags)
            if lead & wordClasses == 0 {
                pos += space ? 1 : 0
                while pos < end, text.classes[pos] & wordClasses == 0 { pos += 1 }
                while pos < end, text.scalars[pos] == 0x0A || text.scalars[pos] == 0x0D { pos += 1 }
            } else {
                pos = whitespaceWord(text, pos, end, newlines: true)
            }
            ends.append(pos)
        }
    }

    /// llama.cpp's default: four expressions applied one after the other, each splitting the
    /// words of the previous one (text between matches stays a word of its own).
    private static func defaultWords(_ text: CodePoints, _ range: Range<Int>, into ends: inout [Int]) {
        // [\p{P}\$\+<=>\^~\|]+
        var stage1: [Int] = []
        runs(text, range, of: CharacterClass.defaultPunctuation, into: &stage1)
        // GPT-2 on each.
        var stage2: [Int] = []
        var start = range.lowerBound
        for e in stage1 {
            gpt2Words(text, start..<e, into: &stage2)
            start = e
        }
        // \p{N}+
        var stage3: [Int] = []
        start = range.lowerBound
        for e in stage2 {
            runs(text, start..<e, of: CharacterClass.number, into: &stage3)
            start = e
        }
        // [0-9][0-9][0-9]: leftmost non-overlapping triples of ASCII digits.
        start = range.lowerBound
        for e in stage3 {
            var pos = start
            var last = start
            while pos + 3 <= e {
                if (pos..<(pos + 3)).allSatisfy({ text.scalars[$0] >= 0x30 && text.scalars[$0] <= 0x39 }) {
                    if last < pos { ends.append(pos) }
                    ends.append(pos + 3)
                    pos += 3
                    last = pos
                } else {
                    pos += 1
                }
            }
            if last < e { ends.append(e) }
            start = e
        }
    }

    /// Maximal runs of code points having `flag` are words, as is the text between them.
    private static func runs(_ text: CodePoints, _ range: Range<Int>, of flag: UInt8, into ends: inout [Int]) {
        var pos = range.lowerBound
        while pos < range.upperBound {
            let inRun = text.classes[pos] & flag != 0
            while pos < range.upperBound, (text.classes[pos] & flag != 0) == inRun { pos += 1 }
            ends.append(pos)
        }
    }
}
