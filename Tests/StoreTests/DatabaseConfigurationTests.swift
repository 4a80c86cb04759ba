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

    @Test func hostsAreWhereLibpqConnects() throws {
        #expect(try DatabaseConfiguration(connectionString: "postgresql://u@db.example/x").hosts == ["db.example"])
        #expect(try DatabaseConfiguration(connectionString: "postgresql://u@/x?host=/tmp/s").hosts == ["/tmp/s"])
        #expect(try DatabaseConfiguration(connectionString: "postgresql://u@[::1]:5433/x").hosts == ["::1"])
        #expect(try DatabaseConfiguration(connectionString: "host=a,b,/s dbname=x").hosts == ["a", "b", "/s"])
        #expect(try DatabaseConfiguration(connectionString: "host=a,b hostaddr=10.0.0.1, dbname=x").hosts == ["10.0.0.1", "b"])
        #expect(try DatabaseConfiguration(connectionString: "dbname=x").hosts == [])
        #expect(try DatabaseConfiguration(connectionString: "service=prod").hosts == nil)
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
