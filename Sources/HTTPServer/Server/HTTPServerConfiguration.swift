public import Crypto
import Glibc

/// Listening address, limits and timeouts. Defaults suit a service behind nothing at all.
public struct HTTPServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Connections the kernel queues before `accept` (capped by `net.core.somaxconn`): deep
    /// enough that a burst of connections refused at accept does not push out a client's SYN.
    public var backlog: Int
    public var limits: HTTPRequestParser.Limits
    /// Connections beyond this are answered 503 and closed at once.
    public var maxConnections: Int
    /// Connections from one IP address beyond this are answered 503 (`too_many_connections`) and
    /// closed at once, so one client cannot take every connection. Behind a proxy every client
    /// shares the proxy's address: raise it to `maxConnections` there.
    public var maxConnectionsPerAddress: Int
    /// From a connection's first byte of a request head (or from accept) to the end of the head.
    public var headerTimeout: Duration
    /// Longest pause while reading a request body.
    public var bodyIdleTimeout: Duration
    /// Longest time to read a whole request body, from when its handler asks for it, however
    /// steadily its bytes come (408 and close).
    public var bodyTotalTimeout: Duration
    /// Longest wait for the next request on an idle keep-alive connection.
    public var keepAliveTimeout: Duration
    /// Longest time a response may wait for the client to read before the connection is dropped.
    public var writeTimeout: Duration
    /// Bytes of a streamed response queued for a slow client before `write` suspends.
    public var maxBufferedOutput: Int
    public var tls: TLSConfiguration?
    /// Threads that wait for socket readiness and run connection work (reading, the synchronous
    /// part of handlers, writing). One per core, and at least two, so that a handler computing for
    /// a while on one never stops the server from reading other connections.
    public var eventThreads: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, backlog: Int = 4096,
                limits: HTTPRequestParser.Limits = HTTPRequestParser.Limits(),
                maxConnections: Int = 4096, maxConnectionsPerAddress: Int = 64,
                headerTimeout: Duration = .seconds(10), bodyIdleTimeout: Duration = .seconds(30),
                bodyTotalTimeout: Duration = .seconds(60),
                keepAliveTimeout: Duration = .seconds(60), writeTimeout: Duration = .seconds(30),
                maxBufferedOutput: Int = 256 * 1024, tls: TLSConfiguration? = nil,
                eventThreads: Int = HTTPServerConfiguration.defaultEventThreads) {
        self.host = host
        self.port = port
        self.backlog = backlog
        self.limits = limits
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.headerTimeout = headerTimeout
        self.bodyIdleTimeout = bodyIdleTimeout
        self.bodyTotalTimeout = bodyTotalTimeout
        self.keepAliveTimeout = keepAliveTimeout
        self.writeTimeout = writeTimeout
        self.maxBufferedOutput = maxBufferedOutput
        self.tls = tls
        self.eventThreads = eventThreads
    }

    /// The online cores, at least two.
    public static var defaultEventThreads: Int {
        max(2, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}

extension Duration {
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
