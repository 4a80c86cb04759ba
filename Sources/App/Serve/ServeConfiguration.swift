import Foundation

/// Everything `popi serve` needs to start, gathered from flags and environment variables.
struct ServeConfiguration: Sendable {
    var host: String
    var port: Int
    var dataDirectory: URL
    /// A libpq connection string or URI; nil runs the embedded cluster in `dataDirectory/pg`.
    var databaseURL: String?
    var modelPath: URL
    /// Limits, timeouts and TLS of the HTTP server.
    var http: HTTPOptions
    /// Limits and policies of the API.
    var api = APIConfiguration()
    /// Engine threads (nil: one per core).
    var threads: Int?
    /// LoRA adapters from `popi train`: the refresh worker's summarizer and the generator.
    var summarizerAdapterPath: String?
    var generatorAdapterPath: String?
    /// `chatml` or `llama3` for a model whose template popi does not recognise.
    var chatTemplate: String?
    /// Summary refresh workers in this process.
    var workers = 1
    /// Upstream APIs: a JSON file and/or `--upstream` specs.
    var upstreamsFile: String?
    var upstreamSpecs: [String] = []
    /// Create a development tenant and key at start (loopback binds only).
    var dev = false

    init(host: String, port: Int, dataDirectory: URL, databaseURL: String?, modelPath: URL,
                http: HTTPOptions = HTTPOptions()) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.databaseURL = databaseURL
        self.modelPath = modelPath
        self.http = http
    }
}
