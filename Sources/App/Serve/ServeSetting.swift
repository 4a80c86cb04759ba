import Foundation

/// One setting of `popi serve`: its flag, its environment variable and its default, in one place.
/// A flag wins over its variable, a variable over the default; a variable that is set but does
/// not parse stops popi instead of silently meaning the default. The README's configuration
/// table is checked against `ServeSetting.documented` by a test.
struct ServeSetting<Value: LosslessStringConvertible & Sendable>: Sendable {
    let flag: String
    let variable: String?
    /// Nil: unset unless given (a path, say).
    let defaultValue: Value?
    /// The default as the README shows it, when not the value itself.
    let shownDefault: String?

    init(_ flag: String, _ variable: String?, default defaultValue: Value?, shown shownDefault: String? = nil) {
        self.flag = flag
        self.variable = variable
        self.defaultValue = defaultValue
        self.shownDefault = shownDefault
    }

    /// The flag's value, else the variable's (an empty variable counts as unset), else the default.
    func resolve(_ flagValue: Value?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ServeSettingError) -> Value? {
        if let flagValue { return flagValue }
        if let variable, let text = environment[variable], !text.isEmpty {
            guard let value = Value(text) else { throw ServeSettingError(variable: variable, expected: Self.kind) }
            return value
        }
        return defaultValue
    }

    /// The flag's help: what it does, then where else it comes from.
    func help(_ text: String) -> String {
        let shown = shownDefault.map { $0.replacingOccurrences(of: "`", with: "") } ?? defaultValue.map(Self.show)
        let note = [variable.map { "env \($0)" }, shown.map { "default \($0)" }].compactMap { $0 }
        return note.isEmpty ? text : "\(text) (\(note.joined(separator: "; ")))"
    }

    var row: ServeSettingRow {
        ServeSettingRow(flag: "`\(flag)`", variable: variable.map { "`\($0)`" } ?? "—",
                        shownDefault: shownDefault ?? defaultValue.map { "`\(Self.show($0))`" } ?? "none")
    }

    private static var kind: String { Value.self is any BinaryInteger.Type ? "an integer" : Value.self == Double.self ? "a number" : "a value" }

    /// Whole numbers without a decimal point (timeouts read `10`, not `10.0`).
    private static func show(_ value: Value) -> String {
        if let number = value as? Double, number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return String(describing: value)
    }
}

/// A variable that is set but does not parse.
struct ServeSettingError: Error, CustomStringConvertible {
    let variable: String
    let expected: String
    var description: String { "\(variable) must be \(expected)" }
}

/// A row of the README's configuration table: flag, variable and default, as written there.
struct ServeSettingRow: Equatable, CustomStringConvertible {
    let flag: String
    let variable: String
    let shownDefault: String
    var description: String { "| \(flag) | \(variable) | \(shownDefault) |" }
}
