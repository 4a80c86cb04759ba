import Testing
import LLMClient

@Suite struct LLMClientModuleTests {
    @Test func moduleLinks() {
        #expect(String(describing: LLMClientModule.self) == "LLMClientModule")
    }
}
