public import Foundation

/// One OpenAI-compatible provider popi can forward personalized requests to.
public struct UpstreamConfiguration: Sendable {
    public struct Timeouts: Sendable {
        /// Until the connection is up and the request is sent.
        public var connect: Duration
        /// From the request sent until the response headers arrive.
        public var firstByte: Duration
        /// Longest silence between two chunks of the response body.
        public var idle: Duration
        /// The whole exchange, retries of non-streamed calls included.
        public var total: Duration

        public init(connect: Duration = .seconds(5), firstByte: Duration = .seconds(60),
                    idle: Duration = .seconds(30), total: Duration = .seconds(300)) {
            self.connect = connect
            self.firstByte = firstByte
            self.idle = idle
            self.total = total
        }
    }

    public struct Retry: Sendable {
        /// Attempts in all for a non-streamed call (1 = no retry).
        public var maxAttempts: Int
        public var baseDelay: Duration
        public var maxDelay: Duration

        public init(maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(250), maxDelay: Duration = .seconds(8)) {
            self.maxAttempts = maxAttempts
            self.baseDelay = baseDelay
            self.maxDelay = maxDelay
        }
    }

    public struct Breaker: Sendable {
        /// Consecutive failures that open the circuit.
        public var failureThreshold: Int
        /// How long an open circuit refuses calls before letting one trial through.
        public var openDuration: Duration

        public init(failureThreshold: Int = 5, openDuration: Duration = .seconds(30)) {
            self.failureThreshold = failureThreshold
            self.openDuration = openDuration
        }
    }

    public var name: String
    /// Base URL up to and including the version, e.g. `https://api.openai.com/v1`.
    public var baseURL: URL
    public var apiKey: APIKey?
    /// popi model name → upstream model name; a model not listed is sent unchanged.
    public var models: [String: String]
    public var timeouts: Timeouts
    public var retry: Retry
    public var breaker: Breaker

    public init(name: String, baseURL: String, apiKey: APIKey?, models: [String: String] = [:],
                timeouts: Timeouts = Timeouts(), retry: Retry = Retry(), breaker: Breaker = Breaker()) throws {
        guard name.range(of: "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", options: .regularExpression) != nil else {
            throw UpstreamConfigurationError.invalidName(name)
        }
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host != nil else {
            throw UpstreamConfigurationError.invalidBaseURL(name: name)
        }
        guard retry.maxAttempts >= 1, breaker.failureThreshold >= 1 else {
            throw UpstreamConfigurationError.invalidPolicy(name: name)
        }
        self.name = name
        self.baseURL = url
        self.apiKey = apiKey
        self.models = models
        self.timeouts = timeouts
        self.retry = retry
        self.breaker = breaker
    }

    var chatCompletionsURL: URL { baseURL.appendingPathComponent("chat/completions") }

    func upstreamModel(for model: String) -> String { models[model] ?? model }
}

public enum UpstreamConfigurationError: Error, Equatable, CustomStringConvertible {
    case invalidName(String)
    case invalidBaseURL(name: String)
    case invalidPolicy(name: String)
    case emptyKey
    case invalidKeyCharacters
    case missingKeyVariable(String)
    case unreadableKeyFile(String)

    public var description: String {
        switch self {
        case .invalidName(let name):
            return "upstream name \"\(name)\" must be 1-63 letters, digits, '.', '_' or '-'"
        case .invalidBaseURL(let name):
            return "upstream \(name): base URL must be an absolute http(s) URL such as https://api.openai.com/v1"
        case .invalidPolicy(let name):
            return "upstream \(name): retry attempts and breaker threshold must be at least 1"
        case .emptyKey:
            return "the upstream API key is empty"
        case .invalidKeyCharacters:
            return "the upstream API key contains control characters"
        case .missingKeyVariable(let name):
            return "environment variable \(name) (the upstream API key) is not set"
        case .unreadableKeyFile(let path):
            return "cannot read the upstream API key file \(path)"
        }
    }
}
