import Testing
@testable import Personalization

@Suite struct UserSignalsTests {
    @Test func cleaningSkipsUnusableSignalsWithReasons() {
        let signals = UserSignals(
            pairs: [
                PreferencePair(prompt: " q ", chosen: "a", rejected: "b"),
                PreferencePair(prompt: "q", chosen: "same", rejected: " same "),
                PreferencePair(prompt: "", chosen: "a", rejected: "b"),
            ],
            statements: ["I like short answers", "   "],
            contents: [.init(text: "my essay", prompt: "  "), .init(text: "")])
        let (clean, skipped) = signals.cleaned()
        #expect(clean.pairs == [PreferencePair(prompt: "q", chosen: "a", rejected: "b")])
        #expect(clean.statements == ["I like short answers"])
        #expect(clean.contents == [.init(text: "my essay", prompt: nil)])
        #expect(skipped.map(\.kind) == [.pair, .pair, .statement, .content])
        #expect(skipped[0].reason == "chosen and rejected are identical")
        #expect(skipped.map(\.index) == [1, 2, 1, 1])
    }
}
