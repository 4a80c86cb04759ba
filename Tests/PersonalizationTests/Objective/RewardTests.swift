import Foundation
import Testing
@testable import Personalization

@Suite struct RewardTests {
    @Test func marginAndRewardOnHandComputedLogProbs() {
        // With the summary: chosen −10, rejected −14 (margin 4). Bare: chosen −12, rejected −13 (margin 1).
        let pair = Reward.PairScores(chosenWithSummary: -10, rejectedWithSummary: -14, chosenBare: -12, rejectedBare: -13)
        #expect(pair.margin == 3)
        #expect(pair.prefersChosen)
        // r = log σ(0.03) / 0.01 = −log(1 + e^−0.03) / 0.01
        let expected = -log(1 + exp(-0.03)) / 0.01
        #expect(abs(Reward.reward(margin: 3) - expected) < 1e-12)
        #expect(abs(Reward.reward(margin: 0) - (-log(2) / 0.01)) < 1e-12)
    }

    @Test func marginIsExactlyZeroWhenSummaryPromptEqualsBarePrompt() {
        let lw = -37.25, ll = -41.5
        let pair = Reward.PairScores(chosenWithSummary: lw, rejectedWithSummary: ll, chosenBare: lw, rejectedBare: ll)
        #expect(pair.margin == 0)
        let (reward, accuracy) = Reward.summarize([pair])
        #expect(accuracy == 0, "h > 0 is strict: no summary never counts as a win")
        #expect(reward == Reward.reward(margin: 0))
    }

    @Test func logSigmoidIsStableAtExtremes() {
        #expect(Reward.logSigmoid(1000) == 0)
        #expect(abs(Reward.logSigmoid(-1000) - -1000) < 1e-9)
        #expect(Reward.reward(margin: 1e6).isFinite)
        #expect(Reward.reward(margin: -1e6).isFinite)
        #expect(abs(Reward.logSigmoid(0) - -log(2)) < 1e-15)
    }

    @Test func summaryAveragesRewardAndCountsWins() {
        let pairs = [
            Reward.PairScores(chosenWithSummary: -1, rejectedWithSummary: -3, chosenBare: -2, rejectedBare: -2),  // h = 2
            Reward.PairScores(chosenWithSummary: -5, rejectedWithSummary: -4, chosenBare: -5, rejectedBare: -5),  // h = −1
            Reward.PairScores(chosenWithSummary: -2, rejectedWithSummary: -2, chosenBare: -3, rejectedBare: -1),  // h = 2
            Reward.PairScores(chosenWithSummary: -1, rejectedWithSummary: -1, chosenBare: -1, rejectedBare: -1),  // h = 0
        ]
        let (reward, accuracy) = Reward.summarize(pairs)
        #expect(accuracy == 0.5)
        let expected = (2 * Reward.reward(margin: 2) + Reward.reward(margin: -1) + Reward.reward(margin: 0)) / 4
        #expect(abs(reward - expected) < 1e-12)
        #expect(Reward.summarize([]) == (0, 0))
    }
}
