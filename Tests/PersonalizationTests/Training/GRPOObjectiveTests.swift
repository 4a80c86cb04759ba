import Foundation
import Testing
@testable import Personalization

struct GRPOObjectiveTests {
    @Test func advantagesCentreOnTheGroupMeanAndInvalidSamplesGetTheLowestReward() {
        // Sample 2 was capped (its own reward 3 does not count), sample 3 had nothing to score:
        // both take the lowest reward 1; the mean of [1, 2, 1, 1] is 1.25.
        let advantages = GRPOObjective.advantages(rewards: [1, 2, 3, nil], valid: [true, true, false, false])
        #expect(advantages == [-0.25, 0.75, -0.25, -0.25])
        #expect(GRPOObjective.advantages(rewards: [nil, nil], valid: [false, false]) == [0, 0])
        #expect(GRPOObjective.advantages(rewards: [-4, -4, -4], valid: [true, true, true]) == [0, 0, 0])
        // Not divided by the spread: scaling the rewards scales the advantages.
        #expect(GRPOObjective.advantages(rewards: [0, 10], valid: [true, true]) == [-5, 5])
    }

    @Test func aContrastSubtractsTheOtherUsersRewardAndWeightZeroIsPOPIsReward() {
        let own: [Double?] = [-69.0, -68.0, nil, -70.0], other: [Double?] = [-69.5, -67.0, -69.0, nil]
        // -69 + 69.5, -68 + 67 (a summary fitting the other user better loses), nothing without both.
        #expect(GRPOObjective.contrasted(own: own, other: other, weight: 1) == [0.5, -1.0, nil, nil])
        #expect(GRPOObjective.contrasted(own: own, other: other, weight: 0.5) == [-34.25, -34.5, nil, nil])
        #expect(GRPOObjective.contrasted(own: own, other: [nil, nil, nil, nil], weight: 0) == own)
        // A generic summary (the same shift on both users' pairs) has the same advantage as any other.
        let generic = GRPOObjective.advantages(rewards: GRPOObjective.contrasted(own: [-68, -69], other: [-68, -69], weight: 1),
                                               valid: [true, true])
        #expect(generic == [0, 0])
    }

    @Test func k3IsZeroWhereThePoliciesAgreeAndPositiveElsewhere() {
        #expect(GRPOObjective.k3(logprob: -1, reference: -1) == 0)
        #expect(abs(GRPOObjective.k3(logprob: -2, reference: -1) - (M_E - 2)) < 1e-12)
        #expect(abs(GRPOObjective.k3(logprob: -1, reference: -2) - (exp(-1.0) + 1 - 1)) < 1e-12)
    }

    @Test func weightsAndLossOnHandComputedNumbers() {
        let weights = GRPOObjective.tokenWeights(advantage: 0.5, logprobs: [-1, -2], reference: [-1, -1],
                                                 klCoefficient: 0.1, totalTokens: 4)
        // (−0.5 + 0.1·(1 − e⁰)) / 4 and (−0.5 + 0.1·(1 − e¹)) / 4
        #expect(abs(Double(weights[0]) - (-0.125)) < 1e-7)
        #expect(abs(Double(weights[1]) - (-0.5 + 0.1 * (1 - M_E)) / 4) < 1e-7)
        let loss = GRPOObjective.loss(advantage: 0.5, logprobs: [-1, -2], reference: [-1, -1], klCoefficient: 0.1, totalTokens: 4)
        // (0.5 + 0 + 1 + 0.1·(e − 2)) / 4
        #expect(abs(loss - (1.5 + 0.1 * (M_E - 2)) / 4) < 1e-12)
    }

    @Test func theWeightsAreTheLossDerivative() {
        let logprobs: [Float] = [-0.3, -2.5, -1.25], reference: [Float] = [-0.5, -1.0, -1.25]
        let weights = GRPOObjective.tokenWeights(advantage: -1.5, logprobs: logprobs, reference: reference,
                                                 klCoefficient: 0.02, totalTokens: 7)
        for index in logprobs.indices {
            let h: Float = 1e-3
            var up = logprobs, down = logprobs
            up[index] += h
            down[index] -= h
            let derivative = (GRPOObjective.loss(advantage: -1.5, logprobs: up, reference: reference, klCoefficient: 0.02, totalTokens: 7)
                - GRPOObjective.loss(advantage: -1.5, logprobs: down, reference: reference, klCoefficient: 0.02, totalTokens: 7))
                / Double(up[index] - down[index])
            #expect(abs(derivative - Double(weights[index])) < 1e-5)
        }
    }
}
