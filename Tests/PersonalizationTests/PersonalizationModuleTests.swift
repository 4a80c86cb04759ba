import Testing
import Personalization

@Suite struct PersonalizationModuleTests {
    @Test func moduleLinks() {
        #expect(String(describing: PersonalizationModule.self) == "PersonalizationModule")
    }
}
