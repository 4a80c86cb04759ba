import Foundation

/// Everything `popi serve` needs to start, gathered from flags and environment variables.
public struct ServeConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: URL
    /// A libpq connection string or URI; nil runs the embedded cluster in `dataDirectory/pg`.
    public var databaseURL: String?
    public var modelPath: URL
    /// Limits, timeouts and TLS of the HTTP server.
    public var http: HTTPOptions

    public init(host: String, port: Int, dataDirectory: URL, databaseURL: String?, modelPath: URL,
                http: HTTPOptions = HTTPOptions()) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.databaseURL = databaseURL
        self.modelPath = modelPath
        self.http = http
    }
}
