import Foundation

/// Everything a user told popi, in the order it happened (oldest first).
public struct UserSignals: Sendable, Equatable {
    /// Something the user wrote, optionally in reply to a prompt.
    public struct Content: Sendable, Equatable {
        public var text: String
        public var prompt: String?
        public init(text: String, prompt: String? = nil) {
            self.text = text
            self.prompt = prompt
        }
    }

    public var pairs: [PreferencePair]
    public var statements: [String]
    public var contents: [Content]

    public init(pairs: [PreferencePair] = [], statements: [String] = [], contents: [Content] = []) {
        self.pairs = pairs
        self.statements = statements
        self.contents = contents
    }

    public var isEmpty: Bool { pairs.isEmpty && statements.isEmpty && contents.isEmpty }

    /// Drops what cannot inform a summary, saying why: empty texts, and pairs whose chosen and
    /// rejected responses are the same (they carry no preference). Texts are trimmed.
    public func cleaned() -> (signals: UserSignals, skipped: [SkippedSignal]) {
        var result = UserSignals()
        var skipped: [SkippedSignal] = []
        for (index, pair) in pairs.enumerated() {
            let prompt = pair.prompt.trimmed, chosen = pair.chosen.trimmed, rejected = pair.rejected.trimmed
            if prompt.isEmpty || chosen.isEmpty || rejected.isEmpty {
                skipped.append(SkippedSignal(kind: .pair, index: index, reason: "prompt, chosen and rejected must be non-empty"))
            } else if chosen == rejected {
                skipped.append(SkippedSignal(kind: .pair, index: index, reason: "chosen and rejected are identical"))
            } else {
                result.pairs.append(PreferencePair(prompt: prompt, chosen: chosen, rejected: rejected))
            }
        }
        for (index, statement) in statements.enumerated() {
            if statement.trimmed.isEmpty {
                skipped.append(SkippedSignal(kind: .statement, index: index, reason: "empty text"))
            } else {
                result.statements.append(statement.trimmed)
            }
        }
        for (index, content) in contents.enumerated() {
            if content.text.trimmed.isEmpty {
                skipped.append(SkippedSignal(kind: .content, index: index, reason: "empty text"))
            } else {
                let prompt = content.prompt?.trimmed
                result.contents.append(Content(text: content.text.trimmed, prompt: prompt?.isEmpty == true ? nil : prompt))
            }
        }
        return (result, skipped)
    }
}

/// A signal left out of a summary, and why.
public struct SkippedSignal: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case pair, statement, content }
    public var kind: Kind
    public var index: Int
    public var reason: String
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
