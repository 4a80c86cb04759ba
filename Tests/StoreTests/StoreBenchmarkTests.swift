import Foundation
import Testing
@testable import Store

/// The benchmark's machinery works end to end on a tiny run (figures come from `popi bench store`).
@Suite struct StoreBenchmarkTests {
    @Test func aTinyRunLoadsTheSameRowsBothWaysAndCleansUp() async throws {
        let store = try await TestDatabase.store()
        var benchmark = StoreBenchmark()
        benchmark.writers = 2
        benchmark.batchSize = 5
        benchmark.batchesPerWriter = 2
        benchmark.rounds = 2
        benchmark.usersPerWriter = 2
        let lines = LinesBox()
        let result = try await benchmark.run(store: store) { lines.append($0) }
        #expect(result.rounds.count == 2)
        #expect(result.rounds.allSatisfy { $0.events == 20 && $0.ingestSeconds > 0 && $0.copySeconds > 0 })
        #expect(lines.count == 2)
        let leftovers = try await store.pool.query("SELECT count(*) FROM tenants WHERE name LIKE 'bench %'")[0].decode(0, as: Int.self)
        #expect(leftovers == 0)
    }

    @Test func copyTextEscapesItsSpecialCharacters() {
        #expect(StoreBenchmark.copyEscaped("a\tb\nc\\d\re") == "a\\tb\\nc\\\\d\\re")
    }

    final class LinesBox: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var count: Int { lock.withLock { lines.count } }
    }
}
