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
    /// Limits and policies of the API.
    public var api = APIConfiguration()
    /// Engine threads (nil: one per core).
    public var threads: Int?
    /// LoRA adapters from `popi train`: the refresh worker's summarizer and the generator.
    public var summarizerAdapterPath: String?
    public var generatorAdapterPath: String?
    /// `chatml` or `llama3` for a model whose template popi does not recognise.
    public var chatTemplate: String?
    /// Summary refresh workers in this process.
    public var workers = 1
    /// Upstream APIs: a JSON file and/or `--upstream` specs.
    public var upstreamsFile: String?
    public var upstreamSpecs: [String] = []
    /// Create a development tenant and key at start (loopback binds only).
    public var dev = false

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
