public import Foundation

/// An evaluation or training dataset: one user per JSON line with `user_id`, `signals` /
/// `held_out` lists of {prompt, chosen, rejected, dimension?}, and optional `persona` (the oracle
/// summary, if known), `traits`, `statements` (what the user said about their preferences) and
/// `contents` (texts the user wrote: {text, prompt?}); other fields are ignored. A pair's
/// `dimension` names what its two responses differ in, for synthetic datasets that know it.
/// Validated on load; errors name the line and the field.
public struct PersonaDataset: Sendable {
    public struct User: Sendable, Equatable {
        public var id: String
        /// The oracle summary; empty when not known (a tenant's own users).
        public var persona: String
        public var traits: [String]
        public var signals: [PreferencePair]
        public var heldOut: [PreferencePair]
        public var statements: [String] = []
        public var contents: [UserSignals.Content] = []
        /// Each pair's `dimension`, if the dataset gives one: `signals`' pairs, then `heldOut`'s.
        public var dimensions: [String?]

        public init(id: String, persona: String, traits: [String], signals: [PreferencePair], heldOut: [PreferencePair],
                    statements: [String] = [], contents: [UserSignals.Content] = [], dimensions: [String?]? = nil) {
            self.id = id
            self.persona = persona
            self.traits = traits
            self.signals = signals
            self.heldOut = heldOut
            self.statements = statements
            self.contents = contents
            self.dimensions = dimensions ?? Array(repeating: nil, count: signals.count + heldOut.count)
        }

        /// Every pair with its dimension: `signals`' pairs, then `heldOut`'s.
        public var labelledPairs: [(pair: PreferencePair, dimension: String?)] {
            zip(signals + heldOut, dimensions).map { (pair: $0.0, dimension: $0.1) }
        }

        /// What a summary is inferred from: the context pairs, statements and texts.
        public var contextSignals: UserSignals { UserSignals(pairs: signals, statements: statements, contents: contents) }
    }

    public var users: [User]

    public init(users: [User]) {
        self.users = users
    }

    public static func load(path: String) throws -> PersonaDataset {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DatasetError(line: nil, message: "cannot read \(path)")
        }
        return try parse(data)
    }

    public static func parse(_ data: Data) throws -> PersonaDataset {
        var users: [User] = []
        var seen = Set<String>()
        var lineNumber = 0
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var bytes = Data(rawLine)
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            guard String(data: bytes, encoding: .utf8) != nil else {
                throw DatasetError(line: lineNumber, message: "not valid UTF-8")
            }
            let object: [String: Any]
            do {
                guard let parsed = try JSONSerialization.jsonObject(with: bytes) as? [String: Any] else {
                    throw DatasetError(line: lineNumber, message: "a line must be a JSON object")
                }
                object = parsed
            } catch let error as DatasetError {
                throw error
            } catch {
                throw DatasetError(line: lineNumber, message: "not valid JSON")
            }
            let user = try parseUser(object, line: lineNumber)
            guard seen.insert(user.id).inserted else {
                throw DatasetError(line: lineNumber, message: "user_id \"\(user.id)\" appears twice")
            }
            users.append(user)
        }
        guard !users.isEmpty else { throw DatasetError(line: nil, message: "the dataset has no users") }
        return PersonaDataset(users: users)
    }

    private static func parseUser(_ object: [String: Any], line: Int) throws -> User {
        func text(_ value: Any?, _ field: String) throws -> String {
            guard let string = value as? String, !string.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw DatasetError(line: line, message: "\(field): must be a non-empty string")
            }
            return string
        }
        var dimensions: [String?] = []
        func pairs(_ field: String) throws -> [PreferencePair] {
            guard let list = object[field] as? [Any], !list.isEmpty else {
                throw DatasetError(line: line, message: "\(field): must be a non-empty list of pairs")
            }
            return try list.enumerated().map { index, item in
                guard let pair = item as? [String: Any] else {
                    throw DatasetError(line: line, message: "\(field)[\(index)]: must be an object")
                }
                let chosen = try text(pair["chosen"], "\(field)[\(index)].chosen")
                let rejected = try text(pair["rejected"], "\(field)[\(index)].rejected")
                guard chosen != rejected else {
                    throw DatasetError(line: line, message: "\(field)[\(index)]: chosen and rejected are identical")
                }
                dimensions.append(try pair["dimension"].map { try text($0, "\(field)[\(index)].dimension") })
                return PreferencePair(prompt: try text(pair["prompt"], "\(field)[\(index)].prompt"),
                                      chosen: chosen, rejected: rejected)
            }
        }
        var traits: [String] = []
        if let value = object["traits"] {
            guard let list = value as? [String] else {
                throw DatasetError(line: line, message: "traits: must be a list of strings")
            }
            traits = list
        }
        var statements: [String] = []
        if let value = object["statements"] {
            guard let list = value as? [Any] else {
                throw DatasetError(line: line, message: "statements: must be a list of strings")
            }
            statements = try list.enumerated().map { index, item in try text(item, "statements[\(index)]") }
        }
        var contents: [UserSignals.Content] = []
        if let value = object["contents"] {
            guard let list = value as? [Any] else {
                throw DatasetError(line: line, message: "contents: must be a list of {text, prompt}")
            }
            contents = try list.enumerated().map { index, item in
                guard let content = item as? [String: Any] else {
                    throw DatasetError(line: line, message: "contents[\(index)]: must be an object")
                }
                return UserSignals.Content(text: try text(content["text"], "contents[\(index)].text"),
                                           prompt: try content["prompt"].map { try text($0, "contents[\(index)].prompt") })
            }
        }
        let signals = try pairs("signals"), heldOut = try pairs("held_out")
        return User(id: try text(object["user_id"], "user_id"),
                    persona: try object["persona"].map { try text($0, "persona") } ?? "",
                    traits: traits, signals: signals, heldOut: heldOut, statements: statements,
                    contents: contents, dimensions: dimensions)
    }
}

public struct DatasetError: Error, Equatable, CustomStringConvertible {
    public var line: Int?
    public var message: String

    public var description: String {
        line.map { "dataset line \($0): \(message)" } ?? "dataset: \(message)"
    }
}
