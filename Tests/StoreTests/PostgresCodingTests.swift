import Foundation
import Testing
@testable import Store

/// Every bound and decoded type goes through the real server and back (binary format both ways).
@Suite struct PostgresCodingTests {
    func roundTrip<T: PostgresEncodable & PostgresDecodable & Equatable>(_ value: T, as cast: StaticString) async throws -> T {
        let store = try await TestDatabase.store()
        let sql: SQL = "SELECT \(value)::" + SQL(unsafeRaw: cast.description)
        return try await store.pool.query(sql)[0].decode(0, as: T.self)
    }

    @Test func scalars() async throws {
        #expect(try await roundTrip("héllo, wörld ✓ 🐙 'quoted' \"double\" \\ back", as: "text") == "héllo, wörld ✓ 🐙 'quoted' \"double\" \\ back")
        #expect(try await roundTrip("", as: "text") == "")
        #expect(try await roundTrip(Int.max, as: "bigint") == Int.max)
        #expect(try await roundTrip(Int.min, as: "bigint") == Int.min)
        #expect(try await roundTrip(Int32(-7), as: "integer") == -7)
        #expect(try await roundTrip(true, as: "boolean") == true)
        #expect(try await roundTrip(false, as: "boolean") == false)
        #expect(try await roundTrip(-0.1, as: "double precision") == -0.1)
        #expect(try await roundTrip(Double.infinity, as: "double precision") == .infinity)
        let uuid = UUID()
        #expect(try await roundTrip(uuid, as: "uuid") == uuid)
        let bytes = Data((0...255).map(UInt8.init))
        #expect(try await roundTrip(bytes, as: "bytea") == bytes)
        let json = JSONB(text: #"{"a": [1, 2, {"b": null}], "é": "✓"}"#)
        // jsonb normalises spacing; compare the parsed structure.
        let back = try await roundTrip(json, as: "jsonb")
        #expect(back.text == #"{"a": [1, 2, {"b": null}], "é": "✓"}"#)
    }

    @Test func timestampsKeepMicroseconds() async throws {
        let date = Date(timeIntervalSince1970: 1_700_000_000.123456)
        let back = try await roundTrip(date, as: "timestamptz")
        #expect(abs(back.timeIntervalSince1970 - date.timeIntervalSince1970) < 1e-6)
        let old = Date(timeIntervalSince1970: -1_000_000_000.5)   // before both epochs
        #expect(abs(try await roundTrip(old, as: "timestamptz").timeIntervalSince1970 - old.timeIntervalSince1970) < 1e-6)
        let store = try await TestDatabase.store()
        let text = try await store.pool.query("SELECT to_char(\(date) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")[0]
            .decode(0, as: String.self)
        #expect(text == "2023-11-14 22:13:20.123456")
        let infinity = try await store.pool.query("SELECT 'infinity'::timestamptz")[0].decode(0, as: Date.self)
        #expect(infinity == .distantFuture)
    }

    @Test func arraysWithNullsAndEmptyArrays() async throws {
        #expect(try await roundTrip(["a", "", "ü"], as: "text[]") == ["a", "", "ü"])
        #expect(try await roundTrip([String](), as: "text[]") == [])
        #expect(try await roundTrip([Int64(1), -2, .max], as: "bigint[]") == [1, -2, .max])
        #expect(try await roundTrip(["x", nil, "z"] as [String?], as: "text[]") == ["x", nil, "z"])
        let ids = [UUID(), UUID()]
        #expect(try await roundTrip(ids, as: "uuid[]") == ids)
        #expect(try await roundTrip([JSONB(text: "{}"), JSONB(text: "[1]")], as: "jsonb[]") == [JSONB(text: "{}"), JSONB(text: "[1]")])
    }

    @Test func nullsDecodeAsNilAndOnlyAsOptionals() async throws {
        let store = try await TestDatabase.store()
        let row = try await store.pool.query("SELECT NULL::text, NULL::bigint, 5::smallint")[0]
        #expect(try row.decode(0, as: String?.self) == nil)
        #expect(try row.decode(1, as: Int?.self) == nil)
        #expect(try row.decode(2, as: Int?.self) == 5)
        #expect(throws: StoreError.self) { try row.decode(0, as: String.self) }
    }

    @Test func aTypeMismatchIsADecodingError() async throws {
        let store = try await TestDatabase.store()
        let row = try await store.pool.query("SELECT 'text'::text AS label, 1.5::float8 AS amount")[0]
        #expect(throws: StoreError.self) { try row.decode(0, as: Int.self) }
        #expect(throws: StoreError.self) { try row.decode("amount", as: UUID.self) }
        #expect(try row.decode("amount", as: Double.self) == 1.5)
        #expect(throws: StoreError.self) { try row.decode("missing", as: Double.self) }
    }

    @Test func valuesAreNeverInterpretedAsSQL() async throws {
        let store = try await TestDatabase.store()
        let hostile = "'; DROP TABLE tenants; --"
        let back = try await store.pool.query("SELECT \(hostile)")[0].decode(0, as: String.self)
        #expect(back == hostile)
        let tables = try await store.pool.query("SELECT to_regclass('tenants') IS NOT NULL")[0].decode(0, as: Bool.self)
        #expect(tables)
    }
}
