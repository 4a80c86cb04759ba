import Foundation
import Testing
@testable import Personalization

struct GRPOSettingsTests {
    /// A resume compares the settings as sorted JSON, so a run begun before the contrast existed
    /// must encode exactly as it did.
    @Test func settingsWithoutAContrastEncodeAsBeforeAndOldSettingsDecodeWithNone() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let plain = try encoder.encode(GRPOSettings(steps: 80, usersPerStep: 4, groupSize: 4, validationUsers: 16))
        let text = String(decoding: plain, as: UTF8.self)
        #expect(!text.contains("contrast"))
        #expect(text == #"{"alpha":32,"checkpointEvery":5,"groupSize":4,"klCoefficient":0.002,"learningRate":0.0001,"maxSummaryTokens":128,"rank":16,"seed":1,"steps":80,"temperature":0.6,"usersPerStep":4,"validateEvery":10,"validationUsers":16,"warmupSteps":5}"#)
        #expect(try JSONDecoder().decode(GRPOSettings.self, from: plain).contrast == 0)

        let contrasted = GRPOSettings(usersPerStep: 4, contrast: 1)
        let round = try JSONDecoder().decode(GRPOSettings.self, from: encoder.encode(contrasted))
        #expect(round == contrasted)
    }

    @Test func aContrastNeedsTwoUsersPerStepAndAWeightInZeroToOne() {
        #expect(throws: PersonalizationError.self) { try GRPOSettings(usersPerStep: 1, contrast: 1).validate() }
        #expect(throws: PersonalizationError.self) { try GRPOSettings(usersPerStep: 2, contrast: 1.5).validate() }
        #expect(throws: PersonalizationError.self) { try GRPOSettings(usersPerStep: 2, contrast: .nan).validate() }
        #expect(throws: Never.self) { try GRPOSettings(usersPerStep: 2, contrast: 1).validate() }
        #expect(throws: Never.self) { try GRPOSettings(usersPerStep: 1).validate() }
    }

    @Test func distillationEncodesItsMethodAndMayUseOneSamplePerUser() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(!String(decoding: try encoder.encode(GRPOSettings()), as: UTF8.self).contains("method"))
        let distill = GRPOSettings(groupSize: 1, method: .distill)
        let text = String(decoding: try encoder.encode(distill), as: UTF8.self)
        #expect(text.contains(#""method":"distill""#))
        #expect(try JSONDecoder().decode(GRPOSettings.self, from: Data(text.utf8)) == distill)
        #expect(throws: Never.self) { try distill.validate() }
        #expect(throws: PersonalizationError.self) { try GRPOSettings(groupSize: 1).validate() }
        #expect(throws: PersonalizationError.self) { try GRPOSettings(groupSize: 0, method: .distill).validate() }
    }

    /// Settings of runs from before start adapters existed encode as they did, so they still resume.
    @Test func aStartAdapterIsEncodedOnlyWhenThereIsOne() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(!String(decoding: try encoder.encode(GRPOSettings()), as: UTF8.self).contains("startAdapter"))
        let started = GRPOSettings(startAdapter: "ab12")
        let text = String(decoding: try encoder.encode(started), as: UTF8.self)
        #expect(text.contains(#""startAdapter":"ab12""#))
        #expect(try JSONDecoder().decode(GRPOSettings.self, from: Data(text.utf8)) == started)
    }

    /// Settings of runs from before the skim form encode as they did; skimming is a whole-summary method's choice.
    @Test func skimIsEncodedOnlyWhenSetAndOnlyForWholeSummaryMethods() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(!String(decoding: try encoder.encode(GRPOSettings()), as: UTF8.self).contains("skim"))
        let skimmed = GRPOSettings(skim: true)
        #expect(skimmed.form == .skim && GRPOSettings().form == .whole)
        let text = String(decoding: try encoder.encode(skimmed), as: UTF8.self)
        #expect(text.contains(#""skim":true"#))
        #expect(try JSONDecoder().decode(GRPOSettings.self, from: Data(text.utf8)) == skimmed)
        #expect(throws: Never.self) { try GRPOSettings(groupSize: 1, method: .supervised, skim: true).validate() }
        #expect(throws: PersonalizationError.self) { try GRPOSettings(method: .notes, skim: true).validate() }
        #expect(throws: PersonalizationError.self) { try GRPOSettings(method: .describe, skim: true).validate() }
    }
}
