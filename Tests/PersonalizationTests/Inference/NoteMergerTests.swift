import Testing
@testable import Personalization

@Suite struct NoteMergerTests {
    @Test func notesSaidMoreThanOnceAreKeptMostSaidFirstAndOnesSaidOnceDropped() {
        let notes = ["This user likes jokes.", "This user wants sources.", "this user likes jokes",
                     "This user wants sources.", "This user wants sources!", "This user hates cheese."]
        #expect(NoteMerger.merge(notes, maxLines: 8) == "This user wants sources.\nThis user likes jokes.")
    }

    @Test func whenNoNoteRepeatsEveryNoteIsKeptInOrder() {
        #expect(NoteMerger.merge(["B one.", "A two.", "C three."], maxLines: 8) == "B one.\nA two.\nC three.")
        #expect(NoteMerger.merge(["B one.", "A two.", "C three."], maxLines: 2) == "B one.\nA two.")
    }

    @Test func tiesKeepTheOrderTheyWereFirstSaidIn() {
        #expect(NoteMerger.merge(["y", "x", "x", "y", "z"], maxLines: 8) == "y\nx")
    }

    @Test func aNoteIsItsFirstNonEmptyLineAndEmptyNotesAreIgnored() {
        let notes = ["\n  - Likes tables.\nand then some rambling", "", "  ", "...", "Likes tables"]
        #expect(NoteMerger.merge(notes, maxLines: 8) == "Likes tables.")
        #expect(NoteMerger.merge([], maxLines: 8) == "")
    }

    @Test func keysIgnoreCasePunctuationAndSpacing() {
        #expect(NoteMerger.key("  This USER, likes:  short answers! ") == "this user likes short answers")
        #expect(NoteMerger.key("Ça va — très bien") == "ça va très bien")
    }
}
