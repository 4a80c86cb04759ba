/// The Unicode facts pre-tokenizers need about a code point, as bit flags: letter (\p{L}),
/// number (\p{N}), whitespace (the White_Space property, as llama.cpp's \s), and the
/// punctuation set of llama.cpp's default pre-tokenizer (\p{P} plus $+<=>^~|).
enum CharacterClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    static let defaultPunctuation: UInt8 = 8

    static let asciiTable: [UInt8] = (0..<128).map { classify(UInt32($0)) }

    @inline(__always)
    static func of(_ value: UInt32) -> UInt8 {
        value < 128 ? asciiTable[Int(value)] : classify(value)
    }

    private static func classify(_ value: UInt32) -> UInt8 {
        guard let scalar = Unicode.Scalar(value) else { return 0 }
        let properties = scalar.properties
        var flags: UInt8 = properties.isWhitespace ? whitespace : 0
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            flags |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            flags |= number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            flags |= defaultPunctuation
        default:
            break
        }
        if value < 128, "$+<=>^~|".unicodeScalars.contains(scalar) { flags |= defaultPunctuation }
        return flags
    }
}
