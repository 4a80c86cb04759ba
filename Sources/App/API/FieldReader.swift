import Foundation
import HTTPServer

/// Reads the fields of one JSON object with validation, naming the field in every error
/// (`events[3].prompt: must be a non-empty string`).
struct FieldReader {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String = "") throws {
        guard case .object(let fields) = value else {
            throw HTTPError.invalidRequest(path.isEmpty ? "the body must be a JSON object" : "\(path): must be an object")
        }
        self.fields = fields
        self.path = path
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A string, trimmed of nothing; `nonEmpty` rejects strings that are only whitespace.
    func string(_ key: String, required: Bool = false, nonEmpty: Bool = true, maxLength: Int = 1 << 20) throws -> String? {
        guard let value = fields[key], value != .null else {
            if required { throw HTTPError.invalidRequest("\(name(key)): is required") }
            return nil
        }
        guard case .string(let text) = value else { throw HTTPError.invalidRequest("\(name(key)): must be a string") }
        if nonEmpty && text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw HTTPError.invalidRequest("\(name(key)): must not be empty")
        }
        guard text.utf8.count <= maxLength else {
            throw HTTPError.invalidRequest("\(name(key)): longer than \(maxLength) bytes")
        }
        guard !text.unicodeScalars.contains(where: { $0.value == 0 }) else {
            throw HTTPError.invalidRequest("\(name(key)): must not contain NUL characters")
        }
        return text
    }

    func requiredString(_ key: String, maxLength: Int = 1 << 20) throws -> String {
        try string(key, required: true, maxLength: maxLength)!
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .number(let number) = value, range.contains(number) else {
            throw HTTPError.invalidRequest("\(name(key)): must be a number between \(JSONValue.format(range.lowerBound)) and \(JSONValue.format(range.upperBound))")
        }
        return number
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .number(let number) = value, number == number.rounded(),
              number >= Double(range.lowerBound), number <= Double(range.upperBound) else {
            throw HTTPError.invalidRequest("\(name(key)): must be an integer between \(range.lowerBound) and \(range.upperBound)")
        }
        return Int(number)
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw HTTPError.invalidRequest("\(name(key)): must be true or false") }
        return flag
    }

    func array(_ key: String, required: Bool = false, maxCount: Int) throws -> [JSONValue]? {
        guard let value = fields[key], value != .null else {
            if required { throw HTTPError.invalidRequest("\(name(key)): is required") }
            return nil
        }
        guard case .array(let items) = value else { throw HTTPError.invalidRequest("\(name(key)): must be a list") }
        guard items.count <= maxCount else { throw HTTPError.invalidRequest("\(name(key)): at most \(maxCount) items") }
        return items
    }

    func object(_ key: String) throws -> JSONValue? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .object = value else { throw HTTPError.invalidRequest("\(name(key)): must be an object") }
        return value
    }

    func date(_ key: String) throws -> Date? {
        guard let text = try string(key, maxLength: 64) else { return nil }
        guard let date = Timestamp.parse(text) else {
            throw HTTPError.invalidRequest(
                "\(name(key)): must be an RFC 3339 date-time from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z, such as 2026-11-29T10:00:00Z")
        }
        return date
    }
}
