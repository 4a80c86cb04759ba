import Foundation
import Testing
@testable import App

@Suite struct TimestampTests {
    @Test func readsRFC3339DateTimesWithAnyOffset() throws {
        let instant = try #require(Timestamp.parse("2026-11-29T10:00:00Z"))
        for text in ["2026-11-29T10:00:00.000Z", "2026-11-29T11:30:00+01:30", "2026-11-29T05:00:00-05:00", "2026-11-29t10:00:00z"] {
            #expect(Timestamp.parse(text) == instant, "\(text)")
        }
        let fraction = try #require(Timestamp.parse("2026-11-29T10:00:00.25Z"))
        #expect(abs(fraction.timeIntervalSince(instant) - 0.25) < 1e-6)
        #expect(Timestamp.parse("2024-02-29T00:00:00Z") != nil && Timestamp.parse("2000-02-29T00:00:00Z") != nil, "leap days")
        #expect(Timestamp.parse("2016-12-31T23:59:60Z") != nil, "a leap second")
    }

    @Test func refusesWhatRFC3339DoesNot() {
        for text in ["2026-11-29", "2026-11-29 10:00:00Z", "2026-11-29T10:00:00", "2026-11-29T10:00Z", "26-11-29T10:00:00Z",
                     "2026-11-29T10:00:00+0100", "2026-11-29T10:00:00.Z", "2026-11-29T10:00:00Z ", "+2026-11-29T10:00:00Z",
                     "2026-13-01T00:00:00Z", "2026-02-30T10:00:00Z", "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
                     "2026-04-31T00:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T10:60:00Z", "2026-11-29T10:00:61Z",
                     "2026-11-29T10:00:00+24:00", "yesterday", ""] {
            #expect(Timestamp.parse(text) == nil, "\(text)")
        }
    }

    /// Only instants the API can write back as RFC 3339 in UTC: four-digit years (Foundation's
    /// parser alone takes more digits, up to years PostgreSQL cannot store).
    @Test func takesOnlyYearsItCanWriteBack() throws {
        for text in ["300000-01-01T00:00:00Z", "99999-01-01T00:00:00Z", "10000-01-01T00:00:00Z",
                     "0000-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"] {
            #expect(Timestamp.parse(text) == nil, "\(text)")
        }
        let first = try #require(Timestamp.parse("0000-01-01T00:00:00Z"))
        let last = try #require(Timestamp.parse("9999-12-31T23:59:59.5Z"))
        #expect(Timestamp.format(first) == "0000-01-01T00:00:00.000Z" && Timestamp.format(last) == "9999-12-31T23:59:59.500Z")
    }
}
