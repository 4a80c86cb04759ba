import Testing
@testable import InferenceRuntime

@Suite struct AdamWSettingsTests {
    static let schedule = LearningRateSchedule(peak: 1e-4, totalSteps: 100)

    @Test func defaultsAreAdamWsAndNoDecayWithClippingAtOne() throws {
        let settings = AdamWSettings(schedule: Self.schedule)
        #expect(settings.beta1 == 0.9 && settings.beta2 == 0.999 && settings.epsilon == 1e-8)
        #expect(settings.weightDecay == 0 && settings.maxGradientNorm == 1)
        try settings.validate()
    }

    @Test func badSettingsAreTypedErrors() {
        #expect(throws: OptimizerError.invalidSetting(name: "beta1", reason: "must be in [0, 1), got 1.0")) {
            try AdamWSettings(schedule: Self.schedule, beta1: 1).validate()
        }
        #expect(throws: OptimizerError.invalidSetting(name: "beta2", reason: "must be in [0, 1), got nan")) {
            try AdamWSettings(schedule: Self.schedule, beta2: .nan).validate()
        }
        #expect(throws: OptimizerError.self) { try AdamWSettings(schedule: Self.schedule, epsilon: 0).validate() }
        #expect(throws: OptimizerError.self) { try AdamWSettings(schedule: Self.schedule, weightDecay: -1).validate() }
        #expect(throws: OptimizerError.self) { try AdamWSettings(schedule: Self.schedule, maxGradientNorm: .infinity).validate() }
    }
}
