/// One pairwise judgement: for `prompt`, the user preferred `chosen` over `rejected`.
public struct PreferencePair: Sendable, Equatable, Codable {
    public var prompt: String
    public var chosen: String
    public var rejected: String

    public init(prompt: String, chosen: String, rejected: String) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
    }
}
