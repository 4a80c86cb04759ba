import Foundation
import HTTPServer
import LLMClient

/// Everything `popi serve` needs to start, gathered from flags and environment variables
/// (`Serve.Setting`); the defaults here are the service's defaults.
struct ServeConfiguration: Sendable {
    /// Address, limits, timeouts and TLS of the HTTP server.
    var http: HTTPServerConfiguration
    var dataDirectory: URL
    /// A libpq connection string or URI; nil runs the embedded cluster in `dataDirectory/pg`.
    var databaseURL: String?
    var modelPath: URL
    /// Seconds in-flight requests get once SIGTERM or SIGINT arrives.
    var shutdownGracePeriod: Duration = .seconds(10)
    /// Limits and policies of the API.
    var api = APIConfiguration()
    /// Engine threads (nil: one per core).
    var threads: Int?
    /// KV memory for each user's last prompt, reused by their next request (0: off).
    var prefixCacheMiB = 256
    /// LoRA adapters from `popi train`: the refresh worker's summarizer and the generator.
    var summarizerAdapterPath: String?
    var generatorAdapterPath: String?
    /// `chatml` or `llama3` for a model whose template popi does not recognise.
    var chatTemplate: String?
    /// Summary refresh workers in this process.
    var workers = 1
    /// How long a refresh worker's claim holds a job without renewal (renewed every third of it):
    /// how soon the job of a crashed or hung worker runs again.
    var refreshLease = RefreshWorkers.defaultLease
    /// Upstream APIs, from a JSON file and/or `--upstream` specs.
    var upstreams: [UpstreamConfiguration] = []
    /// Create a development tenant and key at start (loopback binds and local databases only).
    var dev = false

    init(http: HTTPServerConfiguration = HTTPServerConfiguration(),
         dataDirectory: URL = URL(fileURLWithPath: "data", isDirectory: true), databaseURL: String? = nil,
         modelPath: URL = URL(fileURLWithPath: RuntimeOptions.defaultModelPath)) {
        self.http = http
        self.dataDirectory = dataDirectory
        self.databaseURL = databaseURL
        self.modelPath = modelPath
    }

    static var defaults: ServeConfiguration { ServeConfiguration() }
}
