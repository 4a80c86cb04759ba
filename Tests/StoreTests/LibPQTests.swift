import Testing
import Store

@Suite struct LibPQTests {
    @Test func linkedLibPQReportsAVersion() {
        #expect(LibPQ.version >= 100000)
    }
}
