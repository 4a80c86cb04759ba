import Foundation
import LLMClient
import Testing
@testable import App

@Suite struct UpstreamRegistryTests {
    @Test func fileAndSpecParse() throws {
        let file = Data("""
        {"upstreams": [{"name": "openai", "base_url": "https://api.openai.com/v1", "api_key_env": "OPENAI_KEY",
          "models": {"gpt-4o-mini": "gpt-4o-mini", "fast": "gpt-4o-mini"},
          "timeouts": {"connect": 2, "first_byte": 20, "idle": 10, "total": 60}, "max_attempts": 2}]}
        """.utf8)
        let fromFile = try UpstreamRegistry.parseFile(file, environment: ["OPENAI_KEY": "sk-1"])
        #expect(fromFile.count == 1)
        #expect(fromFile[0].timeouts.firstByte == .seconds(20))
        #expect(fromFile[0].retry.maxAttempts == 2)
        let spec = try UpstreamRegistry.parseSpec("name=local-llama,base_url=http://127.0.0.1:8000/v1,models=smol:smollm+tiny", environment: [:])
        #expect(spec.models == ["smol": "smollm", "tiny": "tiny"])
        #expect(spec.apiKey == nil)
        let registry = try UpstreamRegistry(fromFile + [spec])
        #expect(registry.client(forModel: "fast")?.configuration.name == "openai")
        #expect(registry.client(forModel: "smol")?.configuration.name == "local-llama")
        #expect(registry.client(forModel: "popi-local") == nil)
    }

    @Test func badConfigurationIsAClearError() {
        let env = ["K": "sk"]
        #expect(throws: UpstreamSpecError("--upstream: name and base_url are required")) {
            try UpstreamRegistry.parseSpec("base_url=http://x/v1", environment: env)
        }
        #expect(throws: UpstreamSpecError("--upstream: unknown field api_key")) {
            try UpstreamRegistry.parseSpec("name=a,base_url=http://x/v1,api_key=sk-secret", environment: env)
        }
        #expect(throws: UpstreamConfigurationError.missingKeyVariable("NOPE")) {
            try UpstreamRegistry.parseSpec("name=a,base_url=http://x/v1,api_key_env=NOPE", environment: env)
        }
        #expect(throws: UpstreamSpecError("the upstreams file must be a JSON object with an \"upstreams\" list")) {
            try UpstreamRegistry.parseFile(Data("[]".utf8), environment: env)
        }
        #expect(throws: UpstreamSpecError("upstreams[0].timeouts.idle must be a number of seconds from 0.001 to 86400")) {
            try UpstreamRegistry.parseFile(Data(#"{"upstreams":[{"name":"a","base_url":"http://x/v1","timeouts":{"idle":-1}}]}"#.utf8), environment: env)
        }
        let a = try! UpstreamRegistry.parseSpec("name=a,base_url=http://x/v1,models=m", environment: env)
        let b = try! UpstreamRegistry.parseSpec("name=b,base_url=http://y/v1,models=m", environment: env)
        #expect(throws: UpstreamSpecError("model m maps to both a and b")) { try UpstreamRegistry([a, b]) }
        #expect(throws: UpstreamSpecError("upstream a is defined twice")) { try UpstreamRegistry([a, a]) }
        let local = try! UpstreamRegistry.parseSpec("name=local,base_url=http://x/v1", environment: env)
        #expect(throws: UpstreamSpecError("\"local\" names the in-process generator; choose another upstream name")) {
            try UpstreamRegistry([local])
        }
    }

    /// Numbers are checked where they are read: beyond these ranges they would overflow the
    /// conversion to a duration (milliseconds in an Int) or to a count. Messages start as given.
    @Test func numbersOutOfRangeAreRefusedWithTheirName() throws {
        func parse(_ fields: String) throws -> [UpstreamConfiguration] {
            try UpstreamRegistry.parseFile(Data(#"{"upstreams":[{"name":"a","base_url":"http://x/v1",\#(fields)}]}"#.utf8), environment: [:])
        }
        for (fields, message) in [
            (#""timeouts":{"total":1e308}"#, "upstreams[0].timeouts.total must be a number of seconds from 0.001 to 86400"),
            (#""timeouts":{"connect":0}"#, "upstreams[0].timeouts.connect must be"),
            (#""timeouts":{"connect":"5"}"#, "upstreams[0].timeouts.connect must be"),
            (#""timeouts":{"conect":5}"#, "upstreams[0].timeouts.conect is not a timeout (connect, first_byte, idle, total)"),
            (#""timeouts":[5]"#, "upstreams[0].timeouts must be an object of seconds"),
            (#""max_attempts":9223372036854775807"#, "upstreams[0].max_attempts must be a whole number from 1 to 100"),
            (#""max_attempts":1e19"#, "upstreams[0].max_attempts must be"),
            (#""max_attempts":0"#, "upstreams[0].max_attempts must be"),
            (#""max_attempts":1.5"#, "upstreams[0].max_attempts must be"),
            (#""breaker_failures":1e300"#, "upstreams[0].breaker_failures must be a whole number from 1 to 1000000"),
            (#""breaker_open_seconds":1e308"#, "upstreams[0].breaker_open_seconds must be a number of seconds from 1 to 86400"),
            (#""models":{"a":""}"#, "upstreams[0].models must map"),
        ] {
            #expect { try parse(fields) } throws: { ($0 as? UpstreamSpecError)?.description.hasPrefix(message) == true }
        }
        let most = try parse(#""timeouts":{"connect":0.001,"total":86400},"max_attempts":100,"breaker_failures":1000000,"breaker_open_seconds":86400"#)[0]
        #expect(most.timeouts.connect == .milliseconds(1) && most.timeouts.total == .seconds(86400))
        #expect(most.retry.maxAttempts == 100 && most.breaker.failureThreshold == 1_000_000 && most.breaker.openDuration == .seconds(86400))
    }

    @Test func malformedSpecsAreRefusedWithTheirName() throws {
        let base = "name=a,base_url=http://x/v1"
        for (spec, message) in [
            ("\(base),models=:", #"--upstream: models entry ":" must be a model name or client_name:upstream_name"#),
            ("\(base),models=a:", #"--upstream: models entry "a:" must be"#),
            ("\(base),models=:b", #"--upstream: models entry ":b" must be"#),
            ("\(base),models=a:b:c", #"--upstream: models entry "a:b:c" must be"#),
            ("\(base),models=", #"--upstream: models entry "" must be"#),
            ("\(base),models=a++b", #"--upstream: models entry "" must be"#),
            ("\(base),models=a+a:b", "--upstream: model a is listed twice"),
            ("\(base),=x", #"--upstream: expected key=value, got "=x""#),
            ("\(base),base_url=http://y/v1", "--upstream: base_url is given twice"),
        ] {
            #expect {
                try UpstreamRegistry.parseSpec(spec, environment: [:])
            } throws: { ($0 as? UpstreamSpecError)?.description.hasPrefix(message) == true }
        }
        #expect(try UpstreamRegistry.parseSpec("\(base),models=a:b+c", environment: [:]).models == ["a": "b", "c": "c"])
    }
}
