import Foundation
import Testing
@testable import InferenceRuntime

@Suite struct AdamWStateTests {
    static let layout = AdamWTests.layout
    static let settings = AdamWSettings(
        schedule: LearningRateSchedule(peak: 1e-2, warmupSteps: 2, totalSteps: 10, decay: .cosine(floor: 1e-3)),
        weightDecay: 0.01, maxGradientNorm: 0.5)

    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("popi-adamw-\(getpid())-\(name)").path
    }

    /// A state after three steps, saved at `path`.
    static func saved(at path: String) throws -> (AdamW, LoRAAdapter) {
        let adapter = try AdamWTests.adapter(seed: 20)
        let optimizer = try AdamW(layout: layout, settings: settings)
        for step in 1...3 { _ = try optimizer.step(adapter, gradients: AdamWTests.gradients(seed: UInt64(step))) }
        try optimizer.save(to: path)
        return (optimizer, adapter)
    }

    @Test func aRestoredOptimizerContinuesWithTheSameBitsAsOneThatNeverStopped() throws {
        let path = Self.temporaryPath("resume")
        defer { unlink(path) }
        let (running, adapter) = try Self.saved(at: path)
        let resumedAdapter = adapter.copy()
        let resumed = try AdamW(restoringFrom: path, layout: Self.layout)
        #expect(resumed.steps == 3 && resumed.settings == Self.settings)
        for step in 4...7 {
            let gradients = AdamWTests.gradients(seed: UInt64(step), scale: step == 5 ? 2 : 0.1)
            #expect(try running.step(adapter, gradients: gradients) == resumed.step(resumedAdapter, gradients: gradients))
        }
        #expect(AdamWTests.values(adapter.parameters) == AdamWTests.values(resumedAdapter.parameters))
        #expect(AdamWTests.values(running.firstMoment) == AdamWTests.values(resumed.firstMoment))
        #expect(AdamWTests.values(running.secondMoment) == AdamWTests.values(resumed.secondMoment))
        #expect(running.steps == 7 && resumed.steps == 7)
    }

    @Test func savingReplacesTheFileAndLeavesNoTemporaryFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("popi-adamw-dir-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        let (optimizer, _) = try Self.saved(at: path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["state"])
        #expect(try AdamW(restoringFrom: path, layout: Self.layout).steps == optimizer.steps)
        #expect(throws: OptimizerError.self) { try optimizer.save(to: directory.appendingPathComponent("missing/state").path) }
    }

    @Test func badStateFilesAreTypedErrors() throws {
        let path = Self.temporaryPath("bad")
        let broken = Self.temporaryPath("broken")
        defer {
            unlink(path)
            unlink(broken)
        }
        _ = try Self.saved(at: path)
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        func load(_ bytes: [UInt8], layout: LoRALayout = Self.layout) -> OptimizerError? {
            do {
                try Data(bytes).write(to: URL(fileURLWithPath: broken))
                _ = try AdamW(restoringFrom: broken, layout: layout)
                return nil
            } catch {
                return error as? OptimizerError
            }
        }
        #expect(load(good) == nil)
        for length in 0..<good.count where load(Array(good.prefix(length))) != .truncatedState(path: broken) {
            Issue.record("a file cut at \(length) bytes is not reported as truncated")
            break
        }
        #expect(load(good + [0]) == .invalidState(path: broken, reason: "unexpected bytes after the checksum"))
        var flipped = good
        flipped[good.count - 100] ^= 0x10
        #expect(load(flipped) == .stateChecksumMismatch(path: broken))
        var magic = good
        magic[0] = UInt8(ascii: "X")
        #expect(load(magic) == .notAStateFile(path: broken))
        var version = good
        version[8] = 2
        #expect(load(version) == .unsupportedStateVersion(path: broken, version: 2))
        let other = try LoRALayout(config: AdamWTests.config, shapes: [.init(layer: 0, projection: .key, rank: 1),
                                                                     .init(layer: 1, projection: .up, rank: 2)])
        #expect(load(good, layout: other) == .stateLayoutMismatch(path: broken))
        // A well-formed file holding a setting that cannot be (beta1 = 2, at byte 64).
        var setting = Array(good.dropLast(8))
        withUnsafeBytes(of: Double(2).bitPattern.littleEndian) { setting.replaceSubrange(64..<72, with: $0) }
        withUnsafeBytes(of: AdamW.checksum(setting[...]).littleEndian) { setting += $0 }
        #expect(load(setting) == .invalidState(path: broken, reason: "invalid optimizer setting beta1: must be in [0, 1), got 2.0"))
        let missing = Self.temporaryPath("missing")
        #expect(throws: OptimizerError.io(operation: "open", path: missing, reason: "No such file or directory")) {
            try AdamW(restoringFrom: missing, layout: Self.layout)
        }
    }
}
