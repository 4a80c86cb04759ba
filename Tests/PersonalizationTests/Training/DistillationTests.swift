import Testing
@testable import Personalization

struct DistillationTests {
    @Test func theTargetIsTheBestValidCandidateThatBeatsNoSummary() {
        let none = Reward.reward(margin: 0)  // −69.31
        // Candidate 1 is best but capped; of the rest, 2 is best.
        #expect(Distillation.target(rewards: [-69.2, -68.0, -68.9, nil], valid: [true, false, true, false], baseline: none) == 2)
        // Every candidate does worse than saying nothing: no target, the user teaches nothing.
        #expect(Distillation.target(rewards: [-69.4, -70.0], valid: [true, true], baseline: none) == nil)
        #expect(Distillation.target(rewards: [none], valid: [true], baseline: none) == nil)
        #expect(Distillation.target(rewards: [nil, nil], valid: [false, false], baseline: none) == nil)
        // A tie keeps the first.
        #expect(Distillation.target(rewards: [-69.0, -69.0], valid: [true, true], baseline: none) == 0)
    }
}
