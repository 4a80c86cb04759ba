import Testing
@testable import Store

@Suite struct DatabaseConfigurationTests {
    @Test func acceptsURIsAndKeyValueStrings() throws {
        let uri = try DatabaseConfiguration(connectionString: "postgresql://popi:s3cret@db.example:5433/popi?sslmode=disable")
        #expect(uri.parameters["host"] == "db.example")
        #expect(uri.parameters["port"] == "5433")
        #expect(uri.redactedDescription == "postgresql popi@db.example:5433/popi")
        #expect(!uri.redactedDescription.contains("s3cret"))
        let pairs = try DatabaseConfiguration(connectionString: "host=/tmp/x user=popi password=s3cret dbname=postgres")
        #expect(pairs.parameters["host"] == "/tmp/x")
        #expect(!pairs.redactedDescription.contains("s3cret"))
    }

    @Test(arguments: [
        ("", "empty"),
        ("   ", "empty"),
        ("postgresql://popi@host/db?sslmode", "sslmode"),
        ("postgresql://po%zzpi@host/db", "percent"),
        ("postgresql://popi@host/db?bogus_option=1", "bogus_option"),
        ("host=/tmp user", "\"=\""),
        ("host='unterminated", "quoted"),
        ("just-some-words", "\"=\""),
    ])
    func malformedConnectionStringsAreRejectedWithLibpqsReason(input: String, expected: String) {
        do {
            _ = try DatabaseConfiguration(connectionString: input)
            Issue.record("\(input) was accepted")
        } catch let error as StoreError {
            guard case .invalidDatabaseURL = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(error.description.hasPrefix("DATABASE_URL is not a valid PostgreSQL connection string"))
            #expect(error.description.contains(expected), "\(error.description)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func poolSizeMustBePositive() {
        #expect(throws: StoreError.self) { try DatabaseConfiguration(connectionString: "host=/tmp", poolSize: 0) }
    }
}
