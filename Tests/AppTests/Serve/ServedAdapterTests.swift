import Foundation
import InferenceRuntime
import Personalization
import Store
import Testing
@testable import App

/// Adapters in the service, with the real model, database and sockets: loading and refusing
/// files, the refresh worker's summarizer recording its adapter, generation through the
/// generator's adapter, and `/readyz` and `/v1/models` naming what is loaded.
@Suite struct ServedAdapterTests {
    /// A rank-4 adapter of the test model with B filled in (a fresh adapter's B is zero and
    /// changes nothing), written to a temporary file.
    static func adapterFile(seed: UInt64, magnitude: Float = 0.02, architecture: String? = nil,
                            labels: [String: String] = [:]) async throws -> String {
        let config = try await AppTestEnvironment.model().engine.modelConfig
        let adapter = try LoRAAdapter(config: config, rank: 4, alpha: 8, seed: seed)
        adapter.labels = labels
        var state = seed
        for slot in adapter.layout.slots {
            let b = adapter.b(slot)
            for index in 0..<slot.bCount {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                b[index] = (Float(state >> 40) / Float(1 << 24) - 0.5) * 2 * magnitude
            }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("popi-adapter-\(UUID().uuidString).gguf").path
        try adapter.write(path: path, architecture: architecture ?? config.architecture)
        return path
    }

    /// `sha256sum`, a second opinion on the hash.
    static func sha256sum(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(output.prefix(64))
    }

    @Test func loadsAnAdapterAndNamesItByTheSHA256OfItsBytes() async throws {
        let path = try await Self.adapterFile(seed: 3)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try await AppTestEnvironment.model().engine.modelConfig
        let served = try ServedAdapter.load(.summarizer, path: path, base: config)
        #expect(served.sha256 == (try Self.sha256sum(path)))
        #expect(served.rank == 4 && served.role == .summarizer)
        #expect(API.LoadedAdapter(served).file == URL(fileURLWithPath: path).lastPathComponent, "the file name, not the path")
    }

    /// A summarizer adapter says which form it writes; one of a form this popi does not know is refused.
    @Test func aSummarizerAdaptersFormComesFromItsLabel() async throws {
        let config = try await AppTestEnvironment.model().engine.modelConfig
        let notes = try await Self.adapterFile(seed: 4, labels: [SummaryForm.label: "notes"])
        let unknown = try await Self.adapterFile(seed: 4, labels: [SummaryForm.label: "poems"])
        let none = try await Self.adapterFile(seed: 4)
        defer { for path in [notes, unknown, none] { try? FileManager.default.removeItem(atPath: path) } }
        #expect(try ServedAdapter.load(.summarizer, path: notes, base: config).summaryForm == .notes)
        #expect(try ServedAdapter.load(.summarizer, path: none, base: config).summaryForm == .whole)
        #expect(try ServedAdapter.load(.generator, path: unknown, base: config).summaryForm == .whole)
        #expect {
            try ServedAdapter.load(.summarizer, path: unknown, base: config)
        } throws: { error in
            guard case .unusable = error as? ServedAdapterError else { return false }
            return "\(error)".contains("--summarizer-adapter \(unknown): the adapter was trained for summary form \"poems\"")
        }
    }

    @Test func refusesMissingGarbageAndOtherModelsFilesNamingTheFlag() async throws {
        let config = try await AppTestEnvironment.model().engine.modelConfig
        #expect {
            try ServedAdapter.load(.generator, path: "/nonexistent/adapter.gguf", base: config)
        } throws: { error in
            guard case .cannotRead = error as? ServedAdapterError else { return false }
            return "\(error)".hasPrefix("--generator-adapter /nonexistent/adapter.gguf: cannot read")
        }
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("popi-garbage-\(UUID().uuidString).gguf").path
        try Data("not a gguf file".utf8).write(to: URL(fileURLWithPath: garbage))
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        let otherArchitecture = try await Self.adapterFile(seed: 4, architecture: "gpt2")
        defer { try? FileManager.default.removeItem(atPath: otherArchitecture) }
        // The base model itself is a GGUF file, but not an adapter.
        for (path, expected) in [(garbage, "invalid adapter file"), (otherArchitecture, "adapter is for architecture gpt2"),
                                 (AppTestEnvironment.modelPath, "not an adapter file")] {
            #expect {
                try ServedAdapter.load(.summarizer, path: path, base: config)
            } throws: { error in
                guard case .invalid = error as? ServedAdapterError else { return false }
                return "\(error)".hasPrefix("--summarizer-adapter \(path): \(expected)")
            }
        }
    }

    @Test func readinessAndModelsNameTheAdaptersAndGenerationUsesTheGeneratorAdapter() async throws {
        let summarizerPath = try await Self.adapterFile(seed: 5), generatorPath = try await Self.adapterFile(seed: 6, magnitude: 0.05)
        defer {
            try? FileManager.default.removeItem(atPath: summarizerPath)
            try? FileManager.default.removeItem(atPath: generatorPath)
        }
        let config = try await AppTestEnvironment.model().engine.modelConfig
        let summarizer = try ServedAdapter.load(.summarizer, path: summarizerPath, base: config)
        let generator = try ServedAdapter.load(.generator, path: generatorPath, base: config)
        let request: JSONValue = ["prompt": "Name a colour.", "max_tokens": 8, "temperature": 0, "seed": 7]

        let bare = try await withService { service in
            let ready = try await service.client(nil).get("/readyz")
            #expect(ready.json["checks"]?["adapters"] == ["summarizer": .null, "generator": .null], "\(ready)")
            return try await service.tenant().client.post("/v1/users/una/generate", request).json["text"]?.string
        }
        let adapted = { (base: RuntimeModel) in ServedModels(base: base, summarizerAdapter: summarizer, generatorAdapter: generator) }
        let text = try await withService(models: adapted) { service in
            let ready = try await service.client(nil).get("/readyz")
            #expect(ready.status == 200, "\(ready)")
            let adapters = try #require(ready.json["checks"]?["adapters"])
            #expect(adapters["summarizer"]?["sha256"]?.string == summarizer.sha256)
            #expect(adapters["summarizer"]?["summary_form"] == "whole" && adapters["generator"]?["summary_form"] == .null)
            #expect(adapters["generator"]?["sha256"]?.string == generator.sha256 && adapters["generator"]?["rank"]?.int == 4)
            let client = try await service.tenant().client
            let local = try await client.get("/v1/models").json["data"]?.array?.first
            #expect(local?["id"]?.string == "popi-local" && local?["adapters"] == adapters, "\(String(describing: local))")
            let generated = try await client.post("/v1/users/una/generate", request)
            #expect(generated.status == 200, "\(generated)")
            return generated.json["text"]?.string
        }
        // Greedy decoding: the served text is the generator adapter's, not the base model's.
        let model = try await AppTestEnvironment.model()
        let settings = SamplingParameters(maxTokens: 8, temperature: 0, seed: 7)
        let expected = try await model.with(adapter: generator.adapter)
            .generate(.user("Name a colour."), settings: settings, onText: { _ in }).text
        #expect(text == expected)
        #expect(text != bare, "the adapter changes the greedy answer")
    }

    @Test func theRefreshWorkerWritesWithTheSummarizerAdapterAndRecordsItsHash() async throws {
        let path = try await Self.adapterFile(seed: 8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let base = try await AppTestEnvironment.model()
        let adapter = try ServedAdapter.load(.summarizer, path: path, base: base.engine.modelConfig)
        try await withService { service in
            let tenant = try await service.tenant()
            #expect(try await tenant.client.post("/v1/users/vera/feedback", Fixtures.pairs(3)).status == 200)
            let user = try #require(try await service.userID(tenant, "vera"))
            var options = AppTestEnvironment.summaryOptions
            options.candidates = 1
            let workers = RefreshWorkers(store: service.store,
                                         models: ServedModels(base: base, summarizerAdapter: adapter, generatorAdapter: nil),
                                         options: options, metrics: ServiceMetrics(), logger: AppTestEnvironment.logger, count: 0)
            // A job of a kind no other worker claims, run here to its end.
            let kind = "adapter-test-\(UUID().uuidString.prefix(8))"
            _ = try await service.store.jobs.enqueue(NewJob(kind: kind, userID: user))
            let job = try #require(try await service.store.jobs.claim(owner: "test", kinds: [kind]).jobs.first)
            await workers.process(job, owner: "test")
            let summary = try await tenant.client.get("/v1/users/vera/summary")
            #expect(summary.json["version"]?.int == 1, "\(summary)")
            #expect(summary.json["adapter_sha256"]?.string == adapter.sha256)
            #expect(summary.json["candidate_count"]?.int == 1 && summary.json["prompt_version"]?.string == PromptBuilder.version)
            // A restored copy keeps the adapter that wrote the text.
            let restored = try await tenant.client.post("/v1/users/vera/summary/versions/1/restore")
            #expect(restored.json["adapter_sha256"]?.string == adapter.sha256, "\(restored)")
        }
    }
}
