public import Foundation

/// Users' signals from a JSON-lines file, for `popi summarize`. Each line is either one event,
/// shaped like the API's feedback events (`kind` pair {prompt, chosen, rejected}, statement
/// {text} or content {text, prompt?}, with an optional `user_id`), or one whole user as in the
/// evaluation datasets (`user_id` and a `signals` list of pairs). Lines keep their order.
public enum FeedbackFile {
    /// Signals per user id (events without `user_id` belong to user ""), in first-seen order.
    public static func parse(_ data: Data) throws -> [(user: String, signals: UserSignals)] {
        var order: [String] = []
        var users: [String: UserSignals] = [:]
        var lineNumber = 0
        for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let bytes = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            guard String(data: Data(bytes), encoding: .utf8) != nil else {
                throw DatasetError(line: lineNumber, message: "not valid UTF-8")
            }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
                throw DatasetError(line: lineNumber, message: "not a JSON object")
            }
            let user = object["user_id"].map { "\($0)" } ?? ""
            if users[user] == nil {
                order.append(user)
                users[user] = UserSignals()
            }
            if let list = object["signals"] as? [Any] {
                for (index, item) in list.enumerated() {
                    users[user]!.pairs.append(try pair(item, line: lineNumber, field: "signals[\(index)]"))
                }
                continue
            }
            func text(_ key: String) throws -> String {
                guard let value = object[key] as? String else {
                    throw DatasetError(line: lineNumber, message: "\(key): must be a string")
                }
                return value
            }
            switch object["kind"] as? String {
            case "pair": users[user]!.pairs.append(try pair(object, line: lineNumber, field: "event"))
            case "statement": users[user]!.statements.append(try text("text"))
            case "content": users[user]!.contents.append(.init(text: try text("text"), prompt: object["prompt"] as? String))
            default: throw DatasetError(line: lineNumber, message: "kind: must be pair, statement or content (or give a signals list)")
            }
        }
        guard !order.isEmpty else { throw DatasetError(line: nil, message: "the file has no feedback") }
        return order.map { ($0, users[$0]!) }
    }

    private static func pair(_ item: Any, line: Int, field: String) throws -> PreferencePair {
        guard let object = item as? [String: Any], let prompt = object["prompt"] as? String,
              let chosen = object["chosen"] as? String, let rejected = object["rejected"] as? String else {
            throw DatasetError(line: line, message: "\(field): a pair needs prompt, chosen and rejected strings")
        }
        return PreferencePair(prompt: prompt, chosen: chosen, rejected: rejected)
    }
}
