import Foundation
import LLMClient

/// The OpenAI-compatible upstreams popi can forward personalized requests to, from a JSON
/// config file and/or `--upstream` specs, and which client model name routes to which upstream.
final class UpstreamRegistry: Sendable {
    let clients: [String: OpenAIClient]
    /// Client-facing model name → upstream name.
    let routes: [String: String]

    init(_ configurations: [UpstreamConfiguration]) throws {
        routes = try Self.routes(configurations)
        clients = Dictionary(uniqueKeysWithValues: configurations.map {
            ($0.name, OpenAIClient(configuration: $0, userAgent: "popi/\(PopiVersion.current)"))
        })
    }

    /// Client model name → upstream name, once the upstreams are known to fit together: names
    /// unique and not `local`, each model routed to one upstream.
    static func routes(_ configurations: [UpstreamConfiguration]) throws -> [String: String] {
        var names = Set<String>()
        var routes: [String: String] = [:]
        for configuration in configurations {
            guard names.insert(configuration.name).inserted else {
                throw UpstreamSpecError("upstream \(configuration.name) is defined twice")
            }
            guard configuration.name != "local" else {
                throw UpstreamSpecError("\"local\" names the in-process generator; choose another upstream name")
            }
            for model in configuration.models.keys {
                if let other = routes[model] {
                    throw UpstreamSpecError("model \(model) maps to both \(other) and \(configuration.name)")
                }
                routes[model] = configuration.name
            }
        }
        return routes
    }

    func client(named name: String) -> OpenAIClient? { clients[name] }

    /// The upstream serving a client-facing model name, if any.
    func client(forModel model: String) -> OpenAIClient? {
        routes[model].flatMap { clients[$0] }
    }

    // MARK: parsing

    /// Longest timeout or breaker pause, in seconds (a day, as for the server's own timeouts).
    static let maxSeconds = 86400.0
    static let maxAttempts = 100
    static let maxBreakerFailures = 1_000_000

    /// A config file: `{"upstreams": [{"name", "base_url", "api_key_env" | "api_key_file",
    /// "models": {client name: upstream model}, "timeouts": {"connect", "first_byte", "idle",
    /// "total"} (seconds), "max_attempts", "breaker_failures", "breaker_open_seconds"}]}`.
    /// Every number is checked against its range here: out of range, it would overflow the
    /// conversions to durations and counts further on.
    static func parseFile(_ data: Data, environment: [String: String]) throws -> [UpstreamConfiguration] {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let list = root["upstreams"] as? [Any] else {
            throw UpstreamSpecError("the upstreams file must be a JSON object with an \"upstreams\" list")
        }
        return try list.enumerated().map { index, item in
            guard let object = item as? [String: Any] else {
                throw UpstreamSpecError("upstreams[\(index)] must be an object")
            }
            var fields: [String: String] = [:]
            for key in ["name", "base_url", "api_key_env", "api_key_file"] {
                if let value = object[key] {
                    guard let text = value as? String else { throw UpstreamSpecError("upstreams[\(index)].\(key) must be a string") }
                    fields[key] = text
                }
            }
            var models: [String: String] = [:]
            if let value = object["models"] {
                guard let map = value as? [String: String], map.allSatisfy({ !$0.key.isEmpty && !$0.value.isEmpty }) else {
                    throw UpstreamSpecError("upstreams[\(index)].models must map client model names to upstream model names")
                }
                models = map
            }
            var numbers: [String: Double] = [:]
            if let value = object["timeouts"] {
                guard let timeouts = value as? [String: Any] else {
                    throw UpstreamSpecError("upstreams[\(index)].timeouts must be an object of seconds")
                }
                for (key, value) in timeouts {
                    guard ["connect", "first_byte", "idle", "total"].contains(key) else {
                        throw UpstreamSpecError("upstreams[\(index)].timeouts.\(key) is not a timeout (connect, first_byte, idle, total)")
                    }
                    guard let number = value as? Double, number >= 0.001, number <= maxSeconds else {
                        throw UpstreamSpecError("upstreams[\(index)].timeouts.\(key) must be a number of seconds from 0.001 to \(Int(maxSeconds))")
                    }
                    numbers[key] = number
                }
            }
            let policies: [(key: String, maximum: Double, whole: Bool)] = [
                ("max_attempts", Double(maxAttempts), true), ("breaker_failures", Double(maxBreakerFailures), true),
                ("breaker_open_seconds", maxSeconds, false),
            ]
            for (key, maximum, whole) in policies {
                if let value = object[key] {
                    guard let number = value as? Double, number >= 1, number <= maximum, !whole || number == number.rounded() else {
                        let kind = whole ? "a whole number" : "a number of seconds"
                        throw UpstreamSpecError("upstreams[\(index)].\(key) must be \(kind) from 1 to \(Int(maximum))")
                    }
                    numbers[key] = number
                }
            }
            return try make(fields: fields, models: models, numbers: numbers, environment: environment, what: "upstreams[\(index)]")
        }
    }

    /// A flag spec: `name=openai,base_url=https://api.openai.com/v1,api_key_env=OPENAI_API_KEY,models=gpt-4o-mini:gpt-4o-mini+mini:gpt-4o-mini`.
    static func parseSpec(_ spec: String, environment: [String: String]) throws -> UpstreamConfiguration {
        var fields: [String: String] = [:]
        var models: [String: String] = [:]
        for part in spec.split(separator: ",") {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard pieces.count == 2, !pieces[0].isEmpty else { throw UpstreamSpecError("--upstream: expected key=value, got \"\(part)\"") }
            if pieces[0] == "models" {
                for entry in pieces[1].split(separator: "+", omittingEmptySubsequences: false) {
                    let names = entry.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                    guard names.allSatisfy({ !$0.isEmpty && !$0.contains(":") }) else {
                        throw UpstreamSpecError("--upstream: models entry \"\(entry)\" must be a model name or client_name:upstream_name")
                    }
                    guard models[names[0]] == nil else { throw UpstreamSpecError("--upstream: model \(names[0]) is listed twice") }
                    models[names[0]] = names.count == 2 ? names[1] : names[0]
                }
            } else {
                guard fields[pieces[0]] == nil else { throw UpstreamSpecError("--upstream: \(pieces[0]) is given twice") }
                fields[pieces[0]] = pieces[1]
            }
        }
        return try make(fields: fields, models: models, numbers: [:], environment: environment, what: "--upstream")
    }

    private static func make(fields: [String: String], models: [String: String], numbers: [String: Double],
                             environment: [String: String], what: String) throws -> UpstreamConfiguration {
        let known: Set<String> = ["name", "base_url", "api_key_env", "api_key_file"]
        if let unknown = fields.keys.first(where: { !known.contains($0) }) {
            throw UpstreamSpecError("\(what): unknown field \(unknown)")
        }
        guard let name = fields["name"], let baseURL = fields["base_url"] else {
            throw UpstreamSpecError("\(what): name and base_url are required")
        }
        let key: APIKey?
        switch (fields["api_key_env"], fields["api_key_file"]) {
        case let (variable?, nil): key = try APIKey.fromEnvironment(variable, environment: environment)
        case let (nil, file?): key = try APIKey.fromFile(file)
        case (nil, nil): key = nil
        default: throw UpstreamSpecError("\(what): give api_key_env or api_key_file, not both")
        }
        // In range (`parseFile` checked): whole milliseconds of at most a day.
        func seconds(_ field: String, _ fallback: Duration) -> Duration {
            numbers[field].map { .milliseconds(Int($0 * 1000)) } ?? fallback
        }
        let defaults = UpstreamConfiguration.Timeouts()
        let timeouts = UpstreamConfiguration.Timeouts(
            connect: seconds("connect", defaults.connect), firstByte: seconds("first_byte", defaults.firstByte),
            idle: seconds("idle", defaults.idle), total: seconds("total", defaults.total))
        let retry = UpstreamConfiguration.Retry(maxAttempts: numbers["max_attempts"].map { Int($0) } ?? 3)
        let breaker = UpstreamConfiguration.Breaker(
            failureThreshold: numbers["breaker_failures"].map { Int($0) } ?? 5,
            openDuration: seconds("breaker_open_seconds", .seconds(30)))
        return try UpstreamConfiguration(name: name, baseURL: baseURL, apiKey: key, models: models,
                                         timeouts: timeouts, retry: retry, breaker: breaker)
    }
}

struct UpstreamSpecError: Error, CustomStringConvertible, Equatable {
    let description: String
    init(_ description: String) { self.description = description }
}
