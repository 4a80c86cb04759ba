import Testing
@testable import InferenceRuntime

@Suite struct StopMatcherTests {
    /// Feeds `pieces` and returns the released text and whether a stop string ended it.
    static func run(_ stops: [String], _ pieces: [String]) -> (String, Bool) {
        var matcher = StopMatcher(stops)
        var out = ""
        for piece in pieces {
            out += matcher.append(piece)
            if matcher.stopped { return (out, true) }
        }
        return (out + matcher.finish(), false)
    }

    @Test func stopsBeforeAStringSplitAcrossPieces() {
        #expect(Self.run(["END"], ["abc E", "N", "D more"]) == ("abc ", true))
        #expect(Self.run(["\n\n"], ["line\n", "\nnext"]) == ("line", true))
    }

    @Test func releasesHeldTextThatTurnsOutNotToStop() {
        var matcher = StopMatcher(["STOP"])
        #expect(matcher.append("go ST") == "go ")
        #expect(matcher.append("ART") == "START")
        #expect(matcher.finish() == "")
        #expect(Self.run(["STOP"], ["a", "ST"]) == ("aST", false))
    }

    @Test func theEarliestOfSeveralStopsWins() {
        #expect(Self.run(["world", "lo w"], ["hello world"]) == ("hel", true))
    }

    @Test func multibyteTextIsNeverSplit() {
        #expect(Self.run(["日本"], ["こんにちは日", "本語"]) == ("こんにちは", true))
        #expect(Self.run(["🙂!"], ["a🙂", "b"]) == ("a🙂b", false))
    }
}
