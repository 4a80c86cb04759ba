import Testing
@testable import Personalization

struct SkimTests {
    static func words(_ range: Range<Int>) -> [String] { range.map { "w\($0)" } }

    @Test func aShortResponseIsShownWholeWithItsLength() {
        let skim = Skim("  One line.\n- a list item\n")
        #expect(skim.words == 6)
        #expect(skim.shown == "One line.\n- a list item")
        // Up to opening + close + slack words nothing is elided.
        let limit = Skim.openingWords + Skim.closingWords + Skim.slackWords
        let edge = Self.words(0..<limit).joined(separator: " ")
        #expect(Skim(edge).shown == edge && Skim(edge).words == limit)
    }

    @Test func aLongResponseKeepsItsOpeningAndCloseAsWritten() {
        let opening = Self.words(0..<Skim.openingWords)
        let middle = Self.words(100..<140)
        let close = Self.words(200..<(200 + Skim.closingWords))
        // Line breaks inside the kept parts stay; the words between them are elided.
        let text = opening.joined(separator: "\n") + " " + middle.joined(separator: " ") + "\n\n" + close.joined(separator: "  ")
        let skim = Skim(text)
        #expect(skim.words == opening.count + middle.count + close.count)
        #expect(skim.shown == opening.joined(separator: "\n") + Skim.elision + close.joined(separator: "  "))
        #expect(!skim.shown.contains("w100") && !skim.shown.contains("w139"))
    }

    @Test func wordsAreRunsOfNonWhitespace() {
        let text = "\ta  bb\n\nccc "
        #expect(Skim.wordRanges(text).map { String(text[$0]) } == ["a", "bb", "ccc"])
        #expect(Skim.wordRanges("").isEmpty && Skim.wordRanges(" \n ").isEmpty)
        #expect(Skim("").words == 0 && Skim("").shown == "")
    }
}
