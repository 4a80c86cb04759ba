import Testing
import HTTPServer

@Suite struct HTTPServerModuleTests {
    @Test func moduleLinks() {
        #expect(String(describing: HTTPServerModule.self) == "HTTPServerModule")
    }
}
