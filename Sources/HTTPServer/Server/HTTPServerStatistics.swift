/// What a running server has done about its limits, for metrics: counters since start and
/// gauges of now.
public struct HTTPServerStatistics: Sendable, Equatable {
    /// Connections open now.
    public var openConnections = 0
    /// Connections refused at accept (503) because `maxConnections` were open.
    public var refusedServerFull = 0
    /// Connections refused at accept (503) because their address had `maxConnectionsPerAddress` open.
    public var refusedAddressFull = 0
    /// Request bodies failed with 408 after a pause longer than `bodyIdleTimeout`.
    public var bodyIdleTimeouts = 0
    /// Request bodies failed with 408 for taking longer than `bodyTotalTimeout` in all.
    public var bodyTotalTimeouts = 0
    /// Body bytes received and not yet handed to their handlers, now.
    public var bufferedBodyBytes = 0
    /// Memory reserved for those bodies, now (it grows with the bytes received).
    public var reservedBodyBytes = 0

    public init() {}
}
