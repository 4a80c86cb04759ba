import Foundation

/// How the skim form (`SummaryForm.skim`) shows a response: its opening and its close around an
/// elision, with its length in words. A summarizer then reads about half the tokens of the whole
/// form per response and still sees how each response starts, how it ends and how long it is;
/// the kept parts keep their whitespace, so line breaks, lists and code look as written.
struct Skim: Equatable {
    /// Words the response has.
    let words: Int
    /// What the prompt shows of it.
    let shown: String

    /// Words kept from the start and from the end of a longer response.
    static let openingWords = 24
    static let closingWords = 8
    /// A response at most this many words longer than opening and close is shown whole: eliding
    /// a few words would save nothing.
    static let slackWords = 4
    /// Pairs the skim form reads (the newest): with skimmed responses, about 800 tokens of prompt
    /// (760-820 for the first five public users, against about 1,900 for the whole form).
    static let maxPairs = 6
    static let elision = " […] "

    init(_ text: String) {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let ranges = Self.wordRanges(text)
        words = ranges.count
        guard ranges.count > Self.openingWords + Self.closingWords + Self.slackWords else {
            shown = text
            return
        }
        let opening = text[..<ranges[Self.openingWords - 1].upperBound]
        let close = text[ranges[ranges.count - Self.closingWords].lowerBound...]
        shown = opening + Self.elision + close
    }

    /// The ranges of the runs of non-whitespace characters.
    static func wordRanges(_ text: String) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        var start: String.Index?
        var index = text.startIndex
        while index < text.endIndex {
            let isSpace = text[index].isWhitespace
            if isSpace, let begun = start {
                ranges.append(begun..<index)
                start = nil
            } else if !isSpace, start == nil {
                start = index
            }
            index = text.index(after: index)
        }
        if let begun = start { ranges.append(begun..<text.endIndex) }
        return ranges
    }
}
