import Foundation
import InferenceRuntime
import Testing
@testable import Personalization

struct TrainingCheckpointTests {
    let config = DefaultModel.shared.engine.modelConfig

    func makeState(step: Int) -> TrainingCheckpoint.State {
        TrainingCheckpoint.State(kind: "summarizer", completedSteps: step, settings: "{}", dataDigest: "d", modelID: "m")
    }

    func makeCheckpoint(step: Int) throws -> TrainingCheckpoint {
        let adapter = try LoRAAdapter(config: config, rank: 1, alpha: 2, seed: UInt64(step))
        let optimizer = try AdamW(layout: adapter.layout, settings: AdamWSettings(schedule: .init(peak: 1e-3, totalSteps: 10)))
        return TrainingCheckpoint(state: makeState(step: step), adapter: adapter, optimizer: optimizer)
    }

    @Test func theLatestCheckpointRoundTripsAndOlderOnesArePruned() throws {
        let folder = try SummarizerTrainerTests.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(try TrainingCheckpoint.loadLatest(in: folder, base: config) == nil)
        for step in 1...3 { try makeCheckpoint(step: step).save(in: folder, architecture: config.architecture) }
        let loaded = try #require(try TrainingCheckpoint.loadLatest(in: folder, base: config))
        #expect(loaded.state == makeState(step: 3))
        #expect(loaded.adapter.fileBytes(architecture: config.architecture)
            == (try makeCheckpoint(step: 3)).adapter.fileBytes(architecture: config.architecture))
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names == ["latest", "step-000002", "step-000003"])
    }

    @Test func aDamagedCheckpointIsAClearError() throws {
        let folder = try SummarizerTrainerTests.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try makeCheckpoint(step: 1).save(in: folder, architecture: config.architecture)
        try Data("{".utf8).write(to: URL(fileURLWithPath: "\(folder)/step-000001/state.json"))
        #expect(throws: TrainingError.badCheckpoint(path: "\(folder)/step-000001", reason: "state.json is not a checkpoint state")) {
            try TrainingCheckpoint.loadLatest(in: folder, base: config)
        }
        try Data("../etc\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/latest"))
        #expect(throws: TrainingError.self) { try TrainingCheckpoint.loadLatest(in: folder, base: config) }
    }

    /// A real full disk: a small tmpfs that holds one checkpoint but not two.
    @Test(.enabled(if: getuid() == 0, "mounting a small file system needs root"))
    func aFullDiskLeavesThePreviousCheckpointValid() throws {
        let folder = try SummarizerTrainerTests.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.mount(size: "5m", at: folder)
        defer { try? Self.unmount(folder) }

        let first = try makeCheckpoint(step: 1)
        try first.save(in: folder, architecture: config.architecture)
        #expect(throws: TrainingError.self) { try makeCheckpoint(step: 2).save(in: folder, architecture: config.architecture) }
        let loaded = try #require(try TrainingCheckpoint.loadLatest(in: folder, base: config))
        #expect(loaded.state.completedSteps == 1)
        #expect(loaded.adapter.fileBytes(architecture: config.architecture) == first.adapter.fileBytes(architecture: config.architecture))
        // Nothing half-written is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["latest", "step-000001"])
    }

    static func mount(size: String, at path: String) throws {
        try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
    }

    static func unmount(_ path: String) throws {
        try run("/bin/umount", [path])
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TrainingError.io(path: arguments.last ?? tool, reason: "\(tool) exited with \(process.terminationStatus)")
        }
    }
}
