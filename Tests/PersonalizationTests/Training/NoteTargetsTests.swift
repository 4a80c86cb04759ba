import Testing
@testable import Personalization

@Suite struct NoteTargetsTests {
    static func pair(_ n: Int) -> PreferencePair { PreferencePair(prompt: "q\(n)", chosen: "a\(n)", rejected: "b\(n)") }

    /// A user whose pairs 0..<count all have `dimension` (or, with `dimensions`, one each).
    static func user(_ id: String, traits: [String], persona: String, dimensions: [String?]) -> PersonaDataset.User {
        let pairs = dimensions.indices.map(pair)
        return PersonaDataset.User(id: id, persona: persona, traits: traits, signals: Array(pairs.dropLast()),
                                   heldOut: [pairs.last!], dimensions: dimensions)
    }

    let users = [
        user("s1", traits: ["pole-a"], persona: "Likes A.", dimensions: ["x", "x", "x"]),
        user("s2", traits: ["pole-a"], persona: "A, please.", dimensions: ["x", "x", "x"]),
        user("s3", traits: ["pole-a"], persona: "A, please.", dimensions: ["x", "x", "x"]),
        user("s4", traits: ["pole-b"], persona: "Likes B.", dimensions: ["x", "x", "x"]),
        user("s5", traits: ["pole-c"], persona: "Likes C.", dimensions: ["y", "y", "y"]),
        user("m1", traits: ["pole-b", "pole-c", "pole-d"], persona: "Likes B, C and D.", dimensions: ["x", "y", nil, "z"]),
    ]

    @Test func everyPairOfAKnownPoleGetsItsCommonestSentenceAndTheOtherPoleWhenSwapped() {
        let targets = NoteTargets(users)
        let single = targets.notes(for: users[0])
        #expect(single.map(\.note) == ["A, please.", "A, please.", "A, please."])
        #expect(single.map(\.swappedNote) == ["Likes B.", "Likes B.", "Likes B."])
        #expect(single.map(\.pair) == [Self.pair(0), Self.pair(1), Self.pair(2)])
        #expect(single[0].swappedPair == PreferencePair(prompt: "q0", chosen: "b0", rejected: "a0"))

        // Several traits: each pair takes the pole of its own dimension; a dimension with one
        // known pole has no swapped note; unlabelled pairs and unknown poles have no note.
        let mixed = targets.notes(for: users[5])
        #expect(mixed.map(\.pair) == [Self.pair(0), Self.pair(1)])
        #expect(mixed.map(\.note) == ["Likes B.", "Likes C."])
        #expect(mixed.map(\.swappedNote) == ["A, please.", nil])
    }

    @Test func aPoleSeenInTwoDimensionsAndUsersWithoutLabelsGiveNoNotes() {
        let ambiguous = Self.user("s6", traits: ["pole-c"], persona: "Likes C.", dimensions: ["x", "x", "x"])
        let targets = NoteTargets(users + [ambiguous])
        #expect(targets.notes(for: users[4]).isEmpty)
        #expect(targets.notes(for: users[0]).map(\.swappedNote) == ["Likes B.", "Likes B.", "Likes B."])
        let unlabelled = Self.user("u", traits: ["pole-a"], persona: "Likes A.", dimensions: [nil, nil, nil])
        #expect(NoteTargets(users).notes(for: unlabelled).isEmpty)
        #expect(NoteTargets([unlabelled]).notes(for: users[0]).isEmpty)
    }
}
