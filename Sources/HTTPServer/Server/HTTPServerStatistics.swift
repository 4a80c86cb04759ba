/// What a running server has done about its limits, for metrics: counters since start and
/// gauges of now.
public struct HTTPServerStatistics: Sendable, Equatable {
    /// Connections open now.
    public var openConnections = 0
    /// Connections refused at accept (503) because `maxConnections` were open.
    public var refusedServerFull = 0
    /// Connections refused at accept (503) because their address had `maxConnectionsPerAddress` open.
    public var refusedAddressFull = 0

    public init() {}
}
