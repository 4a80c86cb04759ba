/// Whose prompt a generation's KV may be kept and reused for: one owner (say, a tenant's user)
/// under one version of what their prompts share (say, the summary version and the adapter).
/// The engine keeps one prompt per owner; a request with another version drops the kept one.
public struct PrefixCacheKey: Sendable, Hashable {
    public var owner: String
    public var version: String
    /// Whether a prompt that reused part of the owner's kept one is kept only up to what the two
    /// shared. For owners whose prompts differ after a common opening (summary prompts of
    /// different users): the cache then holds that opening, not a whole prompt of one of them.
    public var keepsSharedOpening: Bool

    public init(owner: String, version: String, keepsSharedOpening: Bool = false) {
        self.owner = owner
        self.version = version
        self.keepsSharedOpening = keepsSharedOpening
    }
}
