import Testing
@testable import App

@Suite struct HTTPOptionsTests {
    @Test func tlsFlagsGoTogether() {
        var options = HTTPOptions()
        options.tlsCertificatePath = "cert.pem"
        #expect(throws: HTTPOptions.Invalid.self) { try options.serverConfiguration(host: "127.0.0.1", port: 1) }
    }
}
