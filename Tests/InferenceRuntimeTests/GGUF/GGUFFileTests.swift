import Foundation
import Testing
@testable import InferenceRuntime

@Suite struct GGUFFileTests {
    @Test(arguments: [UInt32(2), 3])
    func readsEveryValueTypeAndTensor(version: UInt32) throws {
        let writer = GGUFWriter.sample(version: version)
        let file = try GGUFFile(bytes: writer.bytes())
        #expect(file.version == version)
        #expect(file.metadataKeys == writer.metadata.map(\.0))
        for (key, value) in writer.metadata { #expect(file.metadata[key] == value, "\(key)") }
        #expect(try file.integer("test.u64") == 1 << 60)
        #expect(try file.integer("test.i8") == -100)
        #expect(try file.number("test.f32") == 1.5)
        #expect(try file.bool("test.bool") == true)
        #expect(try file.string("test.string") == "héllo ✓")
        #expect(try file.stringArray("test.strings") == ["a", "bc", "", "日本"])
        #expect(try file.string("absent") == nil)
        #expect(throws: GGUFError.typeMismatch(key: "test.u8", expected: "string", found: .uint8)) { try file.string("test.u8") }
        #expect(throws: GGUFError.missingKey("absent")) { try file.requireInteger("absent") }

        #expect(file.tensorNames == ["a.weight", "b.weight", "c.weight"])
        #expect(file.dataOffset % 32 == 0)
        let a = try #require(file.tensors["a.weight"])
        #expect(a.type == .f32 && a.dimensions == [3, 2] && a.byteCount == 24 && a.rowCount == 2)
        let values = (0..<6).map { a.data.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        #expect(values == [1, 2, 3, 4, 5, 6])
        let b = try #require(file.tensors["b.weight"])
        #expect(b.byteCount == 68 && Int(bitPattern: b.data) % 32 == 0)
        #expect((0..<68).allSatisfy { b.data.load(fromByteOffset: $0, as: UInt8.self) == UInt8($0) })
        #expect(file.tensors["c.weight"]?.byteCount == 10)
    }

    @Test func honoursGeneralAlignment() throws {
        var writer = GGUFWriter.sample()
        writer.alignment = 64
        writer.metadata.append(("general.alignment", .uint32(64)))
        let file = try GGUFFile(bytes: writer.bytes())
        #expect(file.alignment == 64 && file.dataOffset % 64 == 0)
        #expect(file.tensors["b.weight"]?.data.load(fromByteOffset: 5, as: UInt8.self) == 5)
    }

    /// Every strict prefix of a valid file is a truncated file: each must be rejected with an error.
    @Test(arguments: [UInt32(2), 3])
    func rejectsEveryTruncation(version: UInt32) {
        let bytes = GGUFWriter.sample(version: version).bytes()
        var failures: [Int] = []
        for length in 0..<bytes.count {
            do {
                _ = try GGUFFile(bytes: Array(bytes[0..<length]))
                failures.append(length)
            } catch is GGUFError {
                continue
            } catch {
                failures.append(length)
            }
        }
        #expect(failures.isEmpty, "prefixes accepted: \(failures)")
    }

    /// Flipping any bit must never crash. Flips in structural fields (lengths, counts, types,
    /// dimensions, offsets) are caught; flips inside a value or tensor data give another valid
    /// file, which no checksum-less format can detect, so those must still parse consistently.
    @Test func survivesEveryBitFlip() throws {
        let bytes = GGUFWriter.sample().bytes()
        var rejected = 0
        var accepted = 0
        for index in 0..<bytes.count {
            for bit in 0..<8 {
                var copy = bytes
                copy[index] ^= 1 << bit
                do {
                    let file = try GGUFFile(bytes: copy)
                    accepted += 1
                    let base = Int(bitPattern: file.mapping.base)
                    for view in file.tensors.values {
                        let start = Int(bitPattern: view.data) - base
                        #expect(start >= file.dataOffset && start + view.byteCount <= file.fileSize)
                        #expect(view.byteCount == view.type.byteCount(elements: view.elementCount))
                    }
                } catch is GGUFError {
                    rejected += 1
                }
            }
        }
        #expect(rejected + accepted == bytes.count * 8)
        // Every flip in the magic and version is an error, except version 3 -> 2 (both supported).
        for index in 0..<8 {
            for bit in 0..<8 where !(index == 4 && bit == 0) {
                var copy = bytes
                copy[index] ^= 1 << bit
                #expect(throws: GGUFError.self) { try GGUFFile(bytes: copy) }
            }
        }
    }

    @Test func errorsNameTheTensorAndNumbers() throws {
        var writer = GGUFWriter.sample()
        writer.tensors[2].data.removeLast(2)
        let bytes = writer.bytes()
        do {
            _ = try GGUFFile(bytes: bytes)
            Issue.record("accepted a file whose last tensor is cut short")
        } catch let error as GGUFError {
            let size = bytes.count
            #expect("\(error)".hasPrefix("tensor c.weight: offset 128 + 10 bytes exceeds the data section size"))
            #expect("\(error)".hasSuffix("(file size \(size))"))
        }
    }

    @Test func rejectsStructuralNonsense() throws {
        var writer = GGUFWriter.sample()
        writer.version = 1
        #expect(throws: GGUFError.unsupportedVersion(1)) { try GGUFFile(bytes: writer.bytes()) }

        writer = GGUFWriter.sample()
        writer.metadata.append(("test.u8", .uint8(1)))
        #expect(throws: GGUFError.duplicateKey("test.u8")) { try GGUFFile(bytes: writer.bytes()) }

        writer = GGUFWriter.sample()
        writer.tensors[1].dimensions = [33, 2]
        #expect(throws: GGUFError.rowNotMultipleOfBlock(tensor: "b.weight", type: .q8_0, rowLength: 33, blockSize: 32)) {
            try GGUFFile(bytes: writer.bytes())
        }

        writer = GGUFWriter.sample()
        writer.tensors[0].dimensions = [3, 0]
        #expect(throws: GGUFError.invalidTensorDimension(tensor: "a.weight", index: 1, value: 0)) {
            try GGUFFile(bytes: writer.bytes())
        }

        writer = GGUFWriter.sample()
        writer.tensors[1].name = "a.weight"
        #expect(throws: GGUFError.duplicateTensor("a.weight")) { try GGUFFile(bytes: writer.bytes()) }

        writer = GGUFWriter.sample()
        writer.metadata.append(("general.alignment", .uint32(24)))
        #expect(throws: GGUFError.invalidAlignment(value: "24")) { try GGUFFile(bytes: writer.bytes()) }

        var nested = GGUFArray.uint8([1])
        for _ in 0..<GGUFFile.maximumArrayNesting { nested = .array([nested]) }
        writer = GGUFWriter.sample()
        writer.metadata.append(("deep", .array(nested)))
        #expect(throws: GGUFError.arrayNestingTooDeep(key: "deep", limit: GGUFFile.maximumArrayNesting)) {
            try GGUFFile(bytes: writer.bytes())
        }

        writer = GGUFWriter.sample()
        writer.tensors[0].type = .f16
        var bytes = writer.bytes()
        // The type field of the first tensor info follows its name and dimensions; poke an unknown type.
        let typeOffset = try #require(findTensorTypeOffset(bytes, name: "a.weight", dimensionCount: 2))
        bytes[typeOffset] = 99
        #expect(throws: GGUFError.unknownTensorType(tensor: "a.weight", raw: 99)) { try GGUFFile(bytes: bytes) }
    }

    /// Huge counts from the file are checked against the bytes left before anything is allocated.
    @Test func rejectsCountsLargerThanTheFile() {
        var bytes: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        put(UInt32(0x4655_4747)); put(UInt32(3)); put(UInt64(0)); put(UInt64(1))
        put(UInt64(3)); bytes += Array("key".utf8); put(GGUFValueType.array.rawValue)
        put(GGUFValueType.uint64.rawValue); put(UInt64.max / 4)
        #expect(throws: GGUFError.countTooLarge(what: "element count of key", count: UInt64.max / 4, limit: 0)) {
            try GGUFFile(bytes: bytes)
        }
        bytes.removeAll()
        put(UInt32(0x4655_4747)); put(UInt32(3)); put(UInt64.max); put(UInt64(0))
        #expect(throws: GGUFError.self) { try GGUFFile(bytes: bytes) }
    }

    @Test func opensFilesThroughMmap() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("popi-gguf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bytes = GGUFWriter.sample().bytes()
        let whole = directory.appendingPathComponent("whole.gguf")
        try Data(bytes).write(to: whole)
        let file = try GGUFFile.open(path: whole.path)
        #expect(file.fileSize == bytes.count && file.tensors.count == 3)

        for length in [0, 3, 23, bytes.count / 2, bytes.count - 1] {
            let cut = directory.appendingPathComponent("cut-\(length).gguf")
            try Data(bytes[0..<length]).write(to: cut)
            #expect(throws: GGUFError.self) { try GGUFFile.open(path: cut.path) }
        }
        #expect(throws: GGUFError.self) { try GGUFFile.open(path: directory.appendingPathComponent("missing.gguf").path) }
        #expect(throws: GGUFError.notRegularFile(path: directory.path)) { try GGUFFile.open(path: directory.path) }
    }

    @Test func opensTheDefaultModel() throws {
        let file = TestModel.file
        #expect(file.version == 3)
        #expect(file.tensors.count == file.tensorNames.count)
        #expect(try file.string("general.architecture") == "llama")
        #expect(try file.stringArray("tokenizer.ggml.tokens")?.count == 49152)
        let ffnUp = try #require(file.tensors["blk.3.ffn_up.weight"])
        #expect(ffnUp.dimensions == [576, 1536])
    }

    private func findTensorTypeOffset(_ bytes: [UInt8], name: String, dimensionCount: Int) -> Int? {
        let needle = Array(name.utf8)
        guard needle.count <= bytes.count else { return nil }
        for start in 0...(bytes.count - needle.count) where Array(bytes[start..<(start + needle.count)]) == needle {
            return start + needle.count + 4 + 8 * dimensionCount
        }
        return nil
    }
}
