import Testing
@testable import App

@Suite struct MetricsRegistryTests {
    @Test func rendersPrometheusTextFormat() {
        let registry = MetricsRegistry()
        registry.register("popi_requests_total", .counter, help: "Requests.", labels: ["route", "status"])
        registry.register("popi_queue_depth", .gauge, help: "Jobs waiting.")
        registry.register("popi_latency_seconds", .histogram, help: "Latency.", labels: ["route"], buckets: [0.1, 1])
        registry.increment("popi_requests_total", ["/v1/x", "200"])
        registry.increment("popi_requests_total", ["/v1/x", "200"])
        registry.increment("popi_requests_total", ["/v1/\"q\"", "500"])
        registry.set("popi_queue_depth", to: 3)
        registry.observe("popi_latency_seconds", ["/v1/x"], 0.05)
        registry.observe("popi_latency_seconds", ["/v1/x"], 0.5)
        registry.observe("popi_latency_seconds", ["/v1/x"], 5)
        let text = registry.render()
        #expect(text.contains("# HELP popi_requests_total Requests.\n# TYPE popi_requests_total counter\n"))
        #expect(text.contains("popi_requests_total{route=\"/v1/x\",status=\"200\"} 2\n"))
        #expect(text.contains("popi_requests_total{route=\"/v1/\\\"q\\\"\",status=\"500\"} 1\n"))
        #expect(text.contains("popi_queue_depth 3\n"))
        #expect(text.contains("popi_latency_seconds_bucket{route=\"/v1/x\",le=\"0.1\"} 1\n"))
        #expect(text.contains("popi_latency_seconds_bucket{route=\"/v1/x\",le=\"1\"} 2\n"))
        #expect(text.contains("popi_latency_seconds_bucket{route=\"/v1/x\",le=\"+Inf\"} 3\n"))
        #expect(text.contains("popi_latency_seconds_sum{route=\"/v1/x\"} 5.55\n"))
        #expect(text.contains("popi_latency_seconds_count{route=\"/v1/x\"} 3\n"))
    }

    @Test func collectorsRefreshGaugesBeforeRendering() {
        let registry = MetricsRegistry()
        registry.register("g", .gauge, help: "G.")
        registry.addCollector { registry.set("g", to: 7) }
        #expect(registry.render().contains("g 7\n"))
    }
}
