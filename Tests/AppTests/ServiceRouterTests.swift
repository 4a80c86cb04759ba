import HTTPServer
import Logging
import Testing
@testable import App

/// The routes `popi serve` mounts, through the in-process client.
@Suite struct ServiceRouterTests {
    @Test func healthz() async {
        let client = InProcessClient(router: Service.router(logger: Logger(label: "test")))
        let response = await client.send(.GET, "/healthz")
        #expect(response.status == .ok)
        #expect(response.text == #"{"status":"ok"}"#)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.headers["X-Request-Id"] != nil)
        #expect(await client.send(.POST, "/healthz").status == .methodNotAllowed)
    }

    @Test func tlsFlagsGoTogether() {
        var options = HTTPOptions()
        options.tlsCertificatePath = "cert.pem"
        #expect(throws: HTTPOptions.Invalid.self) { try options.serverConfiguration(host: "127.0.0.1", port: 1) }
    }
}
