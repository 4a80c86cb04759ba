import Testing
@testable import Store

@Suite struct SQLTests {
    @Test func interpolatedValuesBecomeNumberedParameters() {
        let name = "Robert'); DROP TABLE users;--"
        let sql: SQL = "SELECT * FROM users WHERE name = \(name) AND id > \(42)"
        #expect(sql.text == "SELECT * FROM users WHERE name = $1 AND id > $2")
        #expect(sql.parameterCount == 2)
        #expect(sql.binds.map(\.type) == [.text, .int8])
    }

    @Test func fragmentsAreRenumberedWhereTheyAreSpliced() {
        let condition: SQL = "a = \(1) AND b = \(2)"
        let sql: SQL = "SELECT \(3) WHERE \(condition) OR c = \(4)"
        #expect(sql.text == "SELECT $1 WHERE a = $2 AND b = $3 OR c = $4")
        let joined = SQL.joined([SQL("(\(1), \("x"))"), SQL("(\(2), \("y"))")], separator: ", ")
        #expect(joined.text == "($1, $2), ($3, $4)")
        #expect((condition + " LIMIT \(5)").text == "a = $1 AND b = $2 LIMIT $3")
    }

    @Test func nilIsANullOfTheDeclaredType() throws {
        let missing: String? = nil
        let sql: SQL = "SELECT \(missing)"
        #expect(sql.binds[0].type == .text)
        #expect(try sql.binds[0].encoded() == nil)
    }

    @Test func textWithNULIsRejectedBeforeReachingTheServer() {
        let sql: SQL = "SELECT \("a\u{0}b")"
        #expect(throws: StoreError.self) { try sql.binds[0].encoded() }
    }
}
