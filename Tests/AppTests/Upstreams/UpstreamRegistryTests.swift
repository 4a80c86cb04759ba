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
        #expect(throws: UpstreamSpecError("upstreams[0].timeouts.idle must be a positive number of seconds")) {
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
}
