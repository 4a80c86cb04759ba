/// The start of an export of everything stored about one user: the user and their usage as read
/// then, and the newest row of each list at that moment. The lists are read afterwards page by
/// page (`UserDataRepository.events(of:after:limit:)` and the like), so an export of any size
/// holds one page at a time; they stop at these rows, so rows added later are left out.
public struct UserExport: Sendable {
    public let user: User
    public let usage: UsageCounters?
    /// 0 when the list was empty.
    let lastEventID: Int64
    let lastSummaryVersion: Int32
    let lastJobID: Int64
}
