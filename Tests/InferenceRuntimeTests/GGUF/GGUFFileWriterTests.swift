import Foundation
import Testing
import InferenceRuntime

@Suite struct GGUFFileWriterTests {
    private static func product(_ sample: GGUFWriter) -> GGUFFileWriter {
        GGUFFileWriter(metadata: sample.metadata,
                       tensors: sample.tensors.map { .init(name: $0.name, type: $0.type, dimensions: $0.dimensions, data: $0.data) },
                       alignment: sample.alignment)
    }

    /// The test writer (written from the specification, independently) gives the same bytes, up
    /// to the padding llama.cpp adds after the last tensor.
    @Test func matchesTheIndependentWriter() throws {
        let sample = GGUFWriter.sample()
        let reference = sample.bytes()
        let bytes = try Self.product(sample).bytes()
        #expect(Array(bytes.prefix(reference.count)) == reference)
        #expect(bytes.count % 32 == 0 && bytes.count - reference.count < 32)
        #expect(bytes[reference.count...].allSatisfy { $0 == 0 })
        let file = try GGUFFile(bytes: bytes)
        #expect(file.version == 3 && file.tensorNames == ["a.weight", "b.weight", "c.weight"])
        for (key, value) in sample.metadata { #expect(file.metadata[key] == value, "\(key)") }
    }

    @Test func writesGeneralAlignmentWhenNotTheDefault() throws {
        var writer = Self.product(GGUFWriter.sample())
        writer.alignment = 64
        let file = try GGUFFile(bytes: writer.bytes())
        #expect(file.alignment == 64 && file.dataOffset % 64 == 0)
        #expect(file.metadataKeys.last == "general.alignment" && file.metadata["general.alignment"] == .uint32(64))
        #expect(file.tensors.values.allSatisfy { (Int(bitPattern: $0.data) - Int(bitPattern: file.tensors["a.weight"]!.data)) % 64 == 0 })
        #expect(try !GGUFFile(bytes: Self.product(GGUFWriter.sample()).bytes()).metadataKeys.contains("general.alignment"))
    }

    @Test func refusesMalformedInput() {
        let tensor = GGUFFileWriter.Tensor(name: "t", type: .f32, dimensions: [2, 3], data: [UInt8](repeating: 0, count: 24))
        func error(_ change: (inout GGUFFileWriter) -> Void) -> GGUFWriteError? {
            var writer = GGUFFileWriter(metadata: [("k", .uint8(1))], tensors: [tensor])
            change(&writer)
            do throws(GGUFWriteError) {
                _ = try writer.bytes()
                return nil
            } catch {
                return error
            }
        }
        #expect(error { _ in } == nil)
        #expect(error { $0.alignment = 48 } == .invalidAlignment(48))
        #expect(error { $0.alignment = 0 } == .invalidAlignment(0))
        #expect(error { $0.metadata.append(("general.alignment", .uint32(32))) } == .reservedKey("general.alignment"))
        #expect(error { $0.metadata.append(("k", .string("again"))) } == .duplicateKey("k"))
        #expect(error { $0.tensors.append(tensor) } == .duplicateTensor("t"))
        #expect(error { $0.tensors[0].dimensions = [2, 0, 3] } == .invalidTensorShape(tensor: "t", dimensions: [2, 0, 3], type: .f32))
        #expect(error { $0.tensors[0].dimensions = [1, 1, 1, 1, 24] } == .invalidTensorShape(tensor: "t", dimensions: [1, 1, 1, 1, 24], type: .f32))
        #expect(error { $0.tensors[0].type = .q8_0 } == .invalidTensorShape(tensor: "t", dimensions: [2, 3], type: .q8_0))
        #expect(error { $0.tensors[0].dimensions = [3, 3] } == .tensorSizeMismatch(tensor: "t", expected: 36, found: 24))
        #expect("\(GGUFWriteError.tensorSizeMismatch(tensor: "t", expected: 36, found: 24))" == "tensor t: 24 bytes of data, its shape and type need 36")
    }

    @Test func writesAtomicallyAndReplaces() throws {
        try withTemporaryFolder { folder in
            let path = folder.appendingPathComponent("file.gguf").path
            try Data("old contents".utf8).write(to: URL(fileURLWithPath: path))

            let writer = Self.product(GGUFWriter.sample())
            try writer.write(to: path)
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == writer.bytes())
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["file.gguf"], "no temporary file is left")
            _ = try GGUFFile.open(path: path)

            // A destination that cannot be replaced (a folder) fails at the rename: the error says so
            // and the temporary file is gone.
            let blocked = folder.appendingPathComponent("folder.gguf")
            try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: false)
            #expect {
                try writer.write(to: blocked.path)
            } throws: { error in
                guard case .cannotWrite(let path, let reason) = error as? GGUFWriteError else { return false }
                return path == blocked.path && reason.hasPrefix("rename: ")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["file.gguf", "folder.gguf"])

            let missing = folder.appendingPathComponent("absent/file.gguf").path
            #expect {
                try writer.write(to: missing)
            } throws: { error in
                "\(error)".hasPrefix("cannot write \(missing): cannot create a temporary file in \(folder.path)/absent: ")
            }
        }
    }
}
