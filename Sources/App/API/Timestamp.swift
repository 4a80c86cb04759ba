import Foundation

/// RFC 3339 date-times: the API writes them in UTC with milliseconds, and reads them with any
/// offset. Reading checks the syntax itself first: Foundation's ISO 8601 parser also takes years
/// of five or more digits (beyond what PostgreSQL stores, and not RFC 3339 when written back)
/// and rolls impossible dates such as February 30 over into March.
enum Timestamp {
    /// The instants the API takes: those it can write back as RFC 3339 in UTC (four-digit years),
    /// well inside PostgreSQL's timestamptz range (4713 BC to 294276 AD).
    static let range: Range<Date> = {
        let style = Date.ISO8601FormatStyle()
        // Literal, valid date-times: these parses cannot fail.
        return try! style.parse("0000-01-01T00:00:00Z")..<style.parse("9999-12-31T23:59:59Z").addingTimeInterval(1)
    }()

    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (RFC 3339 section 5.6: `T` and `Z` in either
    /// case, second 60 for a leap second); nil for anything else, an impossible date, or an
    /// instant outside `range`.
    static func parse(_ text: String) -> Date? {
        guard isDateTime(Array(text.utf8)) else { return nil }
        let text = text.uppercased()
        let date = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
        guard let date, range.contains(date) else { return nil }
        return date
    }

    private static func isDateTime(_ bytes: [UInt8]) -> Bool {
        var position = 0
        func digits(_ count: Int) -> Int? {
            guard position + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[position..<(position + count)] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            position += count
            return value
        }
        func skip(_ characters: String) -> Bool {
            guard position < bytes.count, characters.utf8.contains(bytes[position]) else { return false }
            position += 1
            return true
        }
        guard let year = digits(4), skip("-"), let month = digits(2), skip("-"), let day = digits(2), skip("Tt"),
              let hour = digits(2), skip(":"), let minute = digits(2), skip(":"), let second = digits(2),
              (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second <= 60 else { return false }
        if skip(".") {
            let start = position
            while position < bytes.count, (0x30...0x39).contains(bytes[position]) { position += 1 }
            guard position > start else { return false }
        }
        if !skip("Zz") {
            guard skip("+-"), let offsetHours = digits(2), skip(":"), let offsetMinutes = digits(2),
                  offsetHours < 24, offsetMinutes < 60 else { return false }
        }
        return position == bytes.count
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
