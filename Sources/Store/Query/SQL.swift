/// A SQL statement whose values are always bound parameters.
///
/// Built from a string literal with interpolation: the literal parts are program text (the
/// literal segments are `StaticString`, so a runtime `String` cannot become SQL text by
/// accident) and every interpolated value becomes a `$n` placeholder with its value bound
/// separately. Fragments compose with `+` and `\(fragment)`; placeholders are numbered
/// when the statement is rendered, so fragments never need to know their position.
///
///     let sql: SQL = "SELECT id FROM users WHERE tenant_id = \(tenant) AND external_id = \(name)"
///
/// The one escape hatch, `SQL(unsafeRaw:)`, is for text the program itself produced
/// (e.g. migration files); it must never carry user input.
public struct SQL: Sendable, ExpressibleByStringInterpolation {
    enum Part: Sendable {
        case text(String)
        case bind(Int)
    }

    var parts: [Part]
    var binds: [PostgresBind]

    public init(stringLiteral value: StaticString) {
        parts = [.text(value.description)]
        binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        parts = stringInterpolation.parts
        binds = stringInterpolation.binds
    }

    /// Raw SQL text with no parameters. Never pass anything derived from outside input.
    public init(unsafeRaw text: String) {
        parts = [.text(text)]
        binds = []
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        public typealias StringLiteralType = StaticString
        var parts: [Part] = []
        var binds: [PostgresBind] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            parts.reserveCapacity(interpolationCount * 2 + 1)
        }

        public mutating func appendLiteral(_ literal: StaticString) {
            parts.append(.text(literal.description))
        }

        /// A value: becomes `$n`, bound as a parameter.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value) {
            parts.append(.bind(binds.count))
            binds.append(PostgresBind(value))
        }

        /// An optional value: `$n`, bound as NULL when nil.
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            parts.append(.bind(binds.count))
            binds.append(PostgresBind(value))
        }

        /// A fragment built the same way: its text and parameters are spliced in.
        public mutating func appendInterpolation(_ fragment: SQL) {
            let offset = binds.count
            for part in fragment.parts {
                switch part {
                case .text(let text): parts.append(.text(text))
                case .bind(let index): parts.append(.bind(index + offset))
                }
            }
            binds.append(contentsOf: fragment.binds)
        }
    }

    public static func + (lhs: SQL, rhs: SQL) -> SQL {
        var interpolation = StringInterpolation(literalCapacity: 0, interpolationCount: 0)
        interpolation.appendInterpolation(lhs)
        interpolation.appendInterpolation(rhs)
        return SQL(stringInterpolation: interpolation)
    }

    /// Joins fragments with a separator, e.g. a list of `($1, $2)` rows joined by `, `.
    public static func joined(_ fragments: [SQL], separator: StaticString) -> SQL {
        var interpolation = StringInterpolation(literalCapacity: 0, interpolationCount: fragments.count)
        for (index, fragment) in fragments.enumerated() {
            if index > 0 { interpolation.appendLiteral(separator) }
            interpolation.appendInterpolation(fragment)
        }
        return SQL(stringInterpolation: interpolation)
    }

    /// The statement text with `$1 … $n` placeholders, as sent to the server.
    public var text: String {
        var result = ""
        for part in parts {
            switch part {
            case .text(let text): result += text
            case .bind(let index): result += "$\(index + 1)"
            }
        }
        return result
    }

    /// Number of bound parameters.
    public var parameterCount: Int { binds.count }
}
