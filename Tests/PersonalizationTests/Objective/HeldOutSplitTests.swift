import Testing
@testable import Personalization

@Suite struct HeldOutSplitTests {
    static func pairs(_ n: Int) -> [PreferencePair] {
        (0..<n).map { PreferencePair(prompt: "p\($0)", chosen: "c\($0)", rejected: "r\($0)") }
    }

    @Test func everyFourthFromTheOldestIsHeldOut() {
        let split = HeldOutSplit(pairs: Self.pairs(8))
        #expect(split.heldOut.map(\.prompt) == ["p0", "p4"])
        #expect(split.context.map(\.prompt) == ["p1", "p2", "p3", "p5", "p6", "p7"])
    }

    @Test func contextAndHeldOutNeverOverlapAndCoverEverything() {
        for n in 0...40 {
            let split = HeldOutSplit(pairs: Self.pairs(n))
            let held = Set(split.heldOut.map(\.prompt)), context = Set(split.context.map(\.prompt))
            #expect(held.isDisjoint(with: context))
            #expect(held.count + context.count == n)
            #expect(split.heldOut.count <= 4)
            #expect(split.canScore == (n >= 2))
        }
    }

    @Test func twoPairsGiveOneOfEach() {
        let split = HeldOutSplit(pairs: Self.pairs(2))
        #expect(split.heldOut.map(\.prompt) == ["p0"])
        #expect(split.context.map(\.prompt) == ["p1"])
    }

    @Test func onePairCannotBeScored() {
        let split = HeldOutSplit(pairs: Self.pairs(1))
        #expect(split.heldOut.isEmpty)
        #expect(!split.canScore)
    }
}
