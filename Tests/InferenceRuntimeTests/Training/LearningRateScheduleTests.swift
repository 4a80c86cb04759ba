import Foundation
import Testing
@testable import InferenceRuntime

@Suite struct LearningRateScheduleTests {
    @Test func warmUpRisesLinearlyThenTheRateStaysConstant() {
        let schedule = LearningRateSchedule(peak: 1e-3, warmupSteps: 4, totalSteps: 100)
        #expect(schedule.learningRate(atStep: 1) == 1e-3 * 1 / 4)
        #expect(schedule.learningRate(atStep: 2) == 1e-3 * 2 / 4)
        #expect(schedule.learningRate(atStep: 4) == 1e-3)
        #expect(schedule.learningRate(atStep: 5) == 1e-3)
        #expect(schedule.learningRate(atStep: 1000) == 1e-3)
        #expect(LearningRateSchedule(peak: 2e-4, totalSteps: 10).learningRate(atStep: 1) == 2e-4)
    }

    @Test func cosineDecaysFromThePeakToTheFloor() {
        let schedule = LearningRateSchedule(peak: 1e-3, warmupSteps: 10, totalSteps: 110, decay: .cosine(floor: 1e-4))
        #expect(abs(schedule.learningRate(atStep: 5) - 5e-4) < 1e-15)
        #expect(schedule.learningRate(atStep: 10) == 1e-3)
        // Halfway through the decay: floor + (peak - floor) / 2.
        #expect(abs(schedule.learningRate(atStep: 60) - 5.5e-4) < 1e-15)
        // A quarter: floor + (peak - floor) · (1 + cos(π/4)) / 2.
        #expect(abs(schedule.learningRate(atStep: 35) - (1e-4 + 9e-4 * (1 + 0.5.squareRoot()) / 2)) < 1e-15)
        #expect(schedule.learningRate(atStep: 110) == 1e-4)
        #expect(schedule.learningRate(atStep: 500) == 1e-4)
        let zeroFloor = LearningRateSchedule(peak: 1e-3, totalSteps: 4, decay: .cosine(floor: 0))
        #expect(abs(zeroFloor.learningRate(atStep: 1) - 1e-3 * (1 + cos(Double.pi / 4)) / 2) < 1e-15)
        #expect(zeroFloor.learningRate(atStep: 4) == 0)
    }

    @Test func badSchedulesAreTypedErrors() {
        #expect(throws: OptimizerError.invalidSetting(name: "learning rate", reason: "must be a number > 0, got 0.0")) {
            try LearningRateSchedule(peak: 0, totalSteps: 1).validate()
        }
        #expect(throws: OptimizerError.self) { try LearningRateSchedule(peak: 1e-3, warmupSteps: 5, totalSteps: 4).validate() }
        #expect(throws: OptimizerError.self) { try LearningRateSchedule(peak: 1e-3, totalSteps: 4, decay: .cosine(floor: 1)).validate() }
    }
}
