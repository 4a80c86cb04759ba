import Synchronization

/// What the job queue did in this process that the jobs table does not keep: jobs not queued
/// because their tenant's queue was full. Shared by the repositories of one `DataStore`.
public final class QueueCounters: Sendable {
    private let dropped = Atomic<UInt64>(0)

    public init() {}

    /// Jobs refused over `NewJob.maxQueuedPerTenant`, since start.
    public var droppedOverTenantCap: UInt64 { dropped.load(ordering: .relaxed) }

    func countDropped() {
        dropped.add(1, ordering: .relaxed)
    }
}
