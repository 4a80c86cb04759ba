import Foundation
import Testing
@testable import Personalization

struct DPOObjectiveTests {
    @Test func lossAndWeightsOnHandComputedNumbers() {
        // Margin gain (−10 − −12) − (−20 − −19) = 2 + 1 = 3; z = 0.01 · 3 = 0.03.
        let pair = DPOObjective.Pair(chosen: -10, rejected: -20, chosenReference: -12, rejectedReference: -19)
        #expect(pair.marginGain == 3)
        #expect(abs(DPOObjective.loss(pair, beta: 0.01) - log1p(exp(-0.03))) < 1e-12)
        let w = DPOObjective.tokenWeights(pair, beta: 0.01, pairs: 4)
        let expected = 0.01 / (1 + exp(0.03)) / 4
        #expect(abs(Double(w.chosen) + expected) < 1e-9)
        #expect(abs(Double(w.rejected) - expected) < 1e-9)
        // At the reference the loss is log 2 and the gradient β/2 per pair.
        let even = DPOObjective.Pair(chosen: -5, rejected: -6, chosenReference: -5, rejectedReference: -6)
        #expect(abs(DPOObjective.loss(even, beta: 0.01) - log(2.0)) < 1e-12)
        #expect(abs(Double(DPOObjective.tokenWeights(even, beta: 0.01, pairs: 1).rejected) - 0.005) < 1e-9)
    }

    @Test func theWeightIsTheLossDerivativeInTheChosenLogProbability() {
        let pair = DPOObjective.Pair(chosen: -30, rejected: -25, chosenReference: -28, rejectedReference: -26)
        let h = 1e-4
        var up = pair, down = pair
        up.chosen += h
        down.chosen -= h
        let derivative = (DPOObjective.loss(up, beta: 0.5) - DPOObjective.loss(down, beta: 0.5)) / (2 * h)
        #expect(abs(derivative - Double(DPOObjective.tokenWeights(pair, beta: 0.5, pairs: 1).chosen)) < 1e-6)
    }
}
