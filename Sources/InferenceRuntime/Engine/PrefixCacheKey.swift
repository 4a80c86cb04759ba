/// Whose prompt a generation's KV may be kept and reused for: one owner (say, a tenant's user)
/// under one version of what their prompts share (say, the summary version and the adapter).
/// The engine keeps one prompt per owner; a request with another version drops the kept one.
public struct PrefixCacheKey: Sendable, Hashable {
    public var owner: String
    public var version: String

    public init(owner: String, version: String) {
        self.owner = owner
        self.version = version
    }
}
