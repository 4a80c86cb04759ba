/// Byte-level BPE tokenizer built from a GGUF file's own metadata (`tokenizer.ggml.*`),
/// producing the same token ids as llama.cpp.
///
/// Two modes decide what text may mean: `.template` recognises control tokens written out in
/// the text (`<|im_start|>`), for text the server builds itself; `.plain` treats them as the
/// characters they are. Everything a user supplies goes through `.plain`: that is the
/// prompt-injection defence. Text is a Swift `String`, so always valid UTF-8; raw bytes from
/// outside go through `encode(validatingUTF8:mode:)`, which rejects invalid UTF-8 with an error.
public final class Tokenizer: Sendable {
    public enum Mode: Sendable {
        /// Control tokens in the text are plain characters (user-supplied text).
        case plain
        /// Control tokens in the text become their ids (text popi writes itself).
        case template
    }

    public let vocabularySize: Int
    public let preTokenizer: PreTokenizer
    /// `tokenizer.ggml.pre` as found in the file.
    public let preTokenizerName: String?
    public let mergeCount: Int
    public let bos: Int32?
    public let eos: Int32?
    /// End of turn: `tokenizer.ggml.eot_token_id`, else the first of the usual end-of-turn texts present.
    public let eot: Int32?
    public let pad: Int32?
    public let unk: Int32?
    /// Tokens that end generation (end-of-turn/-text tokens, eos, eot), as llama.cpp determines them.
    public let endOfGeneration: Set<Int32>
    /// `tokenizer.ggml.add_bos_token` (popi's chat templates write the BOS themselves when needed).
    public let addsBOS: Bool

    private let types: [TokenType]
    /// Bytes each token decodes to, flat: token `i` is `pieceBytes[pieceStarts[i]..<pieceStarts[i + 1]]`.
    private let pieceBytes: [UInt8]
    private let pieceStarts: [Int32]
    /// Byte strings BPE can form -> symbol id. Ids from `vocabularySize` up name strings that merge
    /// rules produce but the vocabulary lacks; `extraPieces` holds their bytes.
    private let symbols: ByteSequenceTable
    private let extraPieces: [[UInt8]]
    let rules: MergeTable
    /// The symbol of each single byte, and the token for it (-1 when the vocabulary lacks one).
    let byteSymbols: [Int32]
    private let byteTokens: [Int32]
    private let ignoresMerges: Bool
    private let specials: SpecialTokenMatcher
    private let specialIDs: [String: Int32]

    public convenience init(gguf: GGUFFile) throws {
        let model = try gguf.string("tokenizer.ggml.model")
        guard let model else { throw TokenizerError.missingKey("tokenizer.ggml.model") }
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(model) }
        guard let tokens = try gguf.stringArray("tokenizer.ggml.tokens") else {
            throw TokenizerError.missingKey("tokenizer.ggml.tokens")
        }
        guard !tokens.isEmpty, tokens.count < Int(Int32.max) / 2 else {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.tokens", reason: "\(tokens.count) tokens")
        }
        guard let merges = try gguf.stringArray("tokenizer.ggml.merges") else {
            throw TokenizerError.missingKey("tokenizer.ggml.merges")
        }
        var types: [Int]?
        if let array = try gguf.array("tokenizer.ggml.token_type") {
            guard let integers = array.integers else {
                throw TokenizerError.invalidValue(key: "tokenizer.ggml.token_type",
                                                  reason: "expected \(tokens.count) integers, found \(array.count) \(array.elementType)")
            }
            types = integers
        }
        func specialID(_ name: String) throws -> Int32? {
            let key = "tokenizer.ggml.\(name)"
            guard let id = try gguf.integer(key) else { return nil }
            guard id >= 0, id < tokens.count else {
                throw TokenizerError.invalidValue(key: key, reason: "token id \(id) is outside the vocabulary of \(tokens.count) tokens")
            }
            return Int32(id)
        }
        let pre = try gguf.string("tokenizer.ggml.pre")
        guard let preTokenizer = PreTokenizer(ggmlName: pre) else { throw TokenizerError.unsupportedPreTokenizer(pre ?? "") }
        try self.init(tokens: tokens, types: types, merges: merges, preTokenizer: preTokenizer, preTokenizerName: pre,
                      ignoresMerges: PreTokenizer.ignoresMerges(ggmlName: pre),
                      bos: specialID("bos_token_id"), eos: specialID("eos_token_id"), eot: specialID("eot_token_id"),
                      eom: specialID("eom_token_id"), pad: specialID("padding_token_id"), unk: specialID("unknown_token_id"),
                      addsBOS: try gguf.bool("tokenizer.ggml.add_bos_token") ?? false)
    }

    /// Texts llama.cpp treats as ending a turn or the text; the first present becomes `eot`
    /// when the file names none, and all of them end generation.
    static let endOfTurnTexts = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
        "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
    ]
    static let endOfGenerationTexts = endOfTurnTexts + ["<|eom_id|>"]

    init(tokens: [String], types rawTypes: [Int]?, merges: [String], preTokenizer: PreTokenizer, preTokenizerName: String?,
         ignoresMerges: Bool, bos: Int32?, eos: Int32?, eot: Int32?, eom: Int32?, pad: Int32?, unk: Int32?, addsBOS: Bool) throws {
        let count = tokens.count
        guard count > 0, count < Int(Int32.max) / 2 else {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.tokens", reason: "\(count) tokens")
        }
        vocabularySize = count
        self.preTokenizer = preTokenizer
        self.preTokenizerName = preTokenizerName
        self.ignoresMerges = ignoresMerges
        self.bos = bos
        self.eos = eos
        self.pad = pad
        self.unk = unk
        self.addsBOS = addsBOS

        var types = [TokenType](repeating: .normal, count: count)
        if let rawTypes {
            guard rawTypes.count >= count else {
                throw TokenizerError.invalidValue(key: "tokenizer.ggml.token_type",
                                                  reason: "expected \(count) token types, found \(rawTypes.count)")
            }
            for i in 0..<count { types[i] = TokenType(rawValue: UInt8(clamping: max(0, rawTypes[i]))) ?? .undefined }
        }
        var idsByText: [String: Int32] = [:]
        let wanted = Set(Self.endOfGenerationTexts)
        let firstBytes = Set(wanted.compactMap(\.utf8.first))
        for (index, text) in tokens.enumerated() {
            // The first token with a given text, as llama.cpp's text-to-id map keeps it.
            guard let first = text.utf8.first, firstBytes.contains(first), wanted.contains(text), idsByText[text] == nil else { continue }
            idsByText[text] = Int32(index)
        }
        // As llama.cpp: end-of-turn texts are control tokens whatever the file says.
        for (_, id) in idsByText where types[Int(id)] != .control { types[Int(id)] = .control }
        self.eot = eot ?? Self.endOfTurnTexts.lazy.compactMap { idsByText[$0] }.first
        var endOfGeneration = Set(idsByText.values)
        for id in [eos, self.eot, eom].compactMap({ $0 }) { endOfGeneration.insert(id) }
        self.endOfGeneration = endOfGeneration
        self.types = types

        // Pieces and the table of strings BPE can form.
        var symbols = ByteSequenceTable(capacity: count + merges.count / 8)
        var pieceBytes: [UInt8] = []
        pieceBytes.reserveCapacity(count * 6)
        var pieceStarts: [Int32] = [0]
        pieceStarts.reserveCapacity(count + 1)
        var specialTokens: [(id: Int32, text: String, templateOnly: Bool)] = []
        var specialIDs: [String: Int32] = [:]
        var decoded: [UInt8] = []
        for (index, text) in tokens.enumerated() {
            let type = types[index]
            let decodes = ByteLevel.decode(text, into: &decoded)
            switch type {
            case .control, .unknown, .userDefined:
                pieceBytes.append(contentsOf: text.utf8)
                specialTokens.append((Int32(index), text, type != .userDefined))
                specialIDs[text] = Int32(index)
            default:
                if decodes { pieceBytes.append(contentsOf: decoded) } else { pieceBytes.append(contentsOf: text.utf8) }
            }
            pieceStarts.append(Int32(pieceBytes.count))
            // Control tokens never come out of BPE, so text cannot spell them even by accident.
            if decodes, !decoded.isEmpty, type != .control, type != .unknown {
                if let earlier = symbols.id(for: decoded) {
                    throw TokenizerError.duplicateToken(text: text, first: Int(earlier), second: index)
                }
                symbols.set(decoded, id: Int32(index))
            }
        }
        self.pieceBytes = pieceBytes
        self.pieceStarts = pieceStarts
        self.specials = SpecialTokenMatcher(tokens: specialTokens)
        self.specialIDs = specialIDs

        var extraPieces: [[UInt8]] = []
        func symbol(_ bytes: [UInt8]) -> Int32 {
            if let id = symbols.id(for: bytes) { return id }
            let id = Int32(count + extraPieces.count)
            extraPieces.append(bytes)
            symbols.set(bytes, id: id)
            return id
        }
        var byteSymbols = [Int32](repeating: 0, count: 256)
        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            byteSymbols[byte] = symbol([UInt8(byte)])
            if byteSymbols[byte] < count { byteTokens[byte] = byteSymbols[byte] }
        }
        // A merge is "left right", split at the first space after the first character, in the
        // vocabulary's byte-level spelling. Rules naming characters outside that spelling can
        // never apply and are skipped.
        var rules = MergeTable(capacity: merges.count)
        var left: [UInt8] = []
        var right: [UInt8] = []
        var utf8: [UInt8] = []
        for (rank, merge) in merges.enumerated() {
            utf8.removeAll(keepingCapacity: true)
            utf8.append(contentsOf: merge.utf8)
            guard utf8.count > 2, let space = utf8[1...].firstIndex(of: 0x20) else { continue }
            let decodes = utf8.withUnsafeBufferPointer { all -> Bool in
                left.removeAll(keepingCapacity: true)
                right.removeAll(keepingCapacity: true)
                return ByteLevel.decode(UnsafeBufferPointer(rebasing: all[..<space]), into: &left)
                    && ByteLevel.decode(UnsafeBufferPointer(rebasing: all[(space + 1)...]), into: &right)
            }
            guard decodes, !left.isEmpty, !right.isEmpty else { continue }
            let leftID = symbol(left)
            let rightID = symbol(right)
            left.append(contentsOf: right)
            rules.insert(left: leftID, right: rightID, rank: Int32(rank), merged: symbol(left))
        }
        self.symbols = symbols
        self.extraPieces = extraPieces
        self.byteSymbols = byteSymbols
        self.byteTokens = byteTokens
        self.rules = rules
        self.mergeCount = rules.count
    }

    // MARK: - Vocabulary

    public func type(of id: Int32) -> TokenType? {
        guard id >= 0, Int(id) < vocabularySize else { return nil }
        return types[Int(id)]
    }

    /// The id of a control, unknown or user-defined token by its text (e.g. `<|im_start|>`).
    public func specialToken(_ text: String) -> Int32? {
        specialIDs[text]
    }

    /// The bytes token `id` stands for (a control token's own text), or nil for an invalid id.
    public func piece(_ id: Int32) -> [UInt8]? {
        guard id >= 0, Int(id) < vocabularySize else { return nil }
        return Array(pieceBytes[Int(pieceStarts[Int(id)])..<Int(pieceStarts[Int(id) + 1])])
    }

    // MARK: - Encoding

    /// Token ids of `text`. Never adds BOS/EOS: chat templates write those themselves.
    public func encode(_ text: String, mode: Mode) -> [Int32] {
        var text = text
        return text.withUTF8 { encode(utf8: $0, mode: mode) }
    }

    /// Token ids of raw bytes from outside, rejecting invalid UTF-8 with `TokenizerError.invalidUTF8`.
    public func encode(validatingUTF8 bytes: [UInt8], mode: Mode) throws -> [Int32] {
        if let offset = Self.firstInvalidUTF8Offset(bytes) { throw TokenizerError.invalidUTF8(offset: offset) }
        return bytes.withUnsafeBufferPointer { encode(utf8: $0, mode: mode) }
    }

    /// Offset of the first byte that does not begin a valid UTF-8 sequence, or nil.
    static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    private func encode(utf8: UnsafeBufferPointer<UInt8>, mode: Mode) -> [Int32] {
        var session = Session(tokenizer: self, text: utf8)
        specials.partition(utf8, template: mode == .template) { fragment in
            switch fragment {
            case .token(let id): session.output.append(id)
            case .text(let range): session.encode(range)
            }
        }
        return session.output
    }

    /// Per-call state: scratch buffers and a cache of words already merged in this text.
    private struct Session {
        let tokenizer: Tokenizer
        let text: UnsafeBufferPointer<UInt8>
        var output: [Int32] = []
        var codePoints = CodePoints()
        var ends: [Int] = []
        var merger = BPEMerger()
        var initial: [Int32] = []
        var merged: [Int32] = []
        var cache = WordCache()

        init(tokenizer: Tokenizer, text: UnsafeBufferPointer<UInt8>) {
            self.tokenizer = tokenizer
            self.text = text
            output.reserveCapacity(text.count / 4)
        }

        mutating func encode(_ range: Range<Int>) {
            codePoints.load(UnsafeBufferPointer(rebasing: text[range]))
            ends.removeAll(keepingCapacity: true)
            tokenizer.preTokenizer.split(codePoints, 0..<codePoints.count, into: &ends)
            var start = 0
            for end in ends {
                word(range.lowerBound + codePoints.offsets[start], range.lowerBound + codePoints.offsets[end])
                start = end
            }
        }

        private mutating func word(_ start: Int, _ end: Int) {
            let bytes = UnsafeBufferPointer(rebasing: text[start..<end])
            if bytes.count == 1 {
                emit(tokenizer.byteSymbols[Int(bytes[0])])
                return
            }
            if tokenizer.ignoresMerges, let id = tokenizer.symbols.id(for: bytes), Int(id) < tokenizer.vocabularySize {
                output.append(id)
                return
            }
            let hash = ByteHash.hash(bytes)
            if let cached = cache.find(bytes, hash: hash, in: text) {
                output.append(contentsOf: cache.values[cached])
                return
            }
            initial.removeAll(keepingCapacity: true)
            for byte in bytes { initial.append(tokenizer.byteSymbols[Int(byte)]) }
            merged.removeAll(keepingCapacity: true)
            initial.withUnsafeBufferPointer { merger.merge($0, rules: tokenizer.rules, into: &merged) }
            let first = output.count
            for symbol in merged { emit(symbol) }
            cache.insert(start: start, count: bytes.count, hash: hash, values: output[first...])
        }

        /// A symbol the vocabulary lacks comes out as the tokens of its bytes.
        @inline(__always)
        private mutating func emit(_ symbol: Int32) {
            if Int(symbol) < tokenizer.vocabularySize {
                output.append(symbol)
            } else {
                for byte in tokenizer.extraPieces[Int(symbol) - tokenizer.vocabularySize] {
                    let token = tokenizer.byteTokens[Int(byte)]
                    if token >= 0 { output.append(token) }
                }
            }
        }
    }

    // MARK: - Decoding

    /// The bytes of `ids` joined. Control tokens render as their text when `renderSpecial`
    /// (as llama.cpp's `special=true`), else as nothing. No space clean-up is applied.
    public func decode(_ ids: [Int32], renderSpecial: Bool = true) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for id in ids {
            guard id >= 0, Int(id) < vocabularySize else { throw TokenizerError.invalidTokenID(id, vocabularySize: vocabularySize) }
            let type = types[Int(id)]
            if !renderSpecial, type == .control || type == .unknown { continue }
            bytes.append(contentsOf: pieceBytes[Int(pieceStarts[Int(id)])..<Int(pieceStarts[Int(id) + 1])])
        }
        return bytes
    }

    /// `decode` as text; byte sequences that are not valid UTF-8 become U+FFFD.
    public func decodeText(_ ids: [Int32], renderSpecial: Bool = true) throws -> String {
        String(decoding: try decode(ids, renderSpecial: renderSpecial), as: UTF8.self)
    }
}
