import Glibc

/// Writes GGUF version 3 files: metadata in the given order, tensor infos, then each tensor's
/// data at a multiple of the alignment and padded to the next one, as llama.cpp writes them.
///
/// `write(to:)` is atomic: the bytes go to a temporary file in the destination's folder, which
/// is synced and then renamed over the destination, so a crash leaves the old file or the new
/// one, never part of one.
public struct GGUFFileWriter: Sendable {
    public struct Tensor: Sendable {
        public var name: String
        public var type: GGMLType
        /// ggml order: `dimensions[0]` is the contiguous (row) length.
        public var dimensions: [Int]
        /// The elements as stored in the file (little-endian), `type.byteCount(elements:)` bytes.
        public var data: [UInt8]

        public init(name: String, type: GGMLType, dimensions: [Int], data: [UInt8]) {
            self.name = name
            self.type = type
            self.dimensions = dimensions
            self.data = data
        }
    }

    public var metadata: [(String, GGUFValue)]
    public var tensors: [Tensor]
    /// Written as `general.alignment` when not the default 32.
    public var alignment: Int

    public init(metadata: [(String, GGUFValue)] = [], tensors: [Tensor] = [], alignment: Int = GGUFFile.defaultAlignment) {
        self.metadata = metadata
        self.tensors = tensors
        self.alignment = alignment
    }

    /// The whole file in memory.
    public func bytes() throws(GGUFWriteError) -> [UInt8] {
        var out = try header()
        serializeData { out += $0 }
        return out
    }

    /// Writes the file to `path` atomically (see the type's comment), replacing any file there.
    public func write(to path: String) throws(GGUFWriteError) {
        let header = try header()
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = "\(folder)/.\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"

        func failure(_ what: String) -> GGUFWriteError {
            .cannotWrite(path: path, reason: "\(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("cannot create a temporary file in \(folder)") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        try fill(fd, header: header, failure)
        guard rename(temporary, path) == 0 else { throw failure("rename") }
        renamed = true
        // Makes the rename itself durable; the file is complete in place whatever this returns.
        let folderFD = open(folder, O_RDONLY | O_CLOEXEC)
        if folderFD >= 0 {
            _ = fsync(folderFD)
            close(folderFD)
        }
    }

    /// Writes the whole file to `fd`, syncs and closes it.
    private func fill(_ fd: Int32, header: [UInt8], _ failure: (String) -> GGUFWriteError) throws(GGUFWriteError) {
        defer { close(fd) }
        var failed = !writeAll(fd, header)
        serializeData { if !failed { failed = !writeAll(fd, $0) } }
        guard !failed else { throw failure("write") }
        guard fsync(fd) == 0 else { throw failure("fsync") }
    }

    /// Every tensor's data followed by zeros up to the next multiple of the alignment.
    private func serializeData(_ sink: ([UInt8]) -> Void) {
        for tensor in tensors {
            sink(tensor.data)
            let padding = paddedSize(tensor.data.count) - tensor.data.count
            if padding > 0 { sink([UInt8](repeating: 0, count: padding)) }
        }
    }

    private func paddedSize(_ count: Int) -> Int { (count + alignment - 1) / alignment * alignment }

    /// Everything before the tensor data, padded to the alignment; validates the whole file.
    private func header() throws(GGUFWriteError) -> [UInt8] {
        guard alignment >= 1, alignment <= 1 << 30, alignment & (alignment - 1) == 0 else {
            throw .invalidAlignment(alignment)
        }
        var entries = metadata
        var keys = Set<String>()
        for (key, _) in entries {
            guard key != "general.alignment" else { throw .reservedKey(key) }
            guard keys.insert(key).inserted else { throw .duplicateKey(key) }
        }
        if alignment != GGUFFile.defaultAlignment { entries.append(("general.alignment", .uint32(UInt32(alignment)))) }

        var out: [UInt8] = []
        Self.put(&out, GGUFFile.magic)
        Self.put(&out, UInt32(3))
        Self.put(&out, UInt64(tensors.count))
        Self.put(&out, UInt64(entries.count))
        for (key, value) in entries {
            Self.putString(&out, key)
            Self.put(&out, value.type.rawValue)
            Self.putValue(&out, value)
        }
        var names = Set<String>()
        var offset = 0
        for tensor in tensors {
            guard names.insert(tensor.name).inserted else { throw .duplicateTensor(tensor.name) }
            let dimensions = tensor.dimensions
            var elements = 1
            for d in dimensions {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard d >= 1, !overflow else { throw .invalidTensorShape(tensor: tensor.name, dimensions: dimensions, type: tensor.type) }
                elements = product
            }
            guard (1...4).contains(dimensions.count), dimensions[0] % tensor.type.blockSize == 0 else {
                throw .invalidTensorShape(tensor: tensor.name, dimensions: dimensions, type: tensor.type)
            }
            let expected = tensor.type.byteCount(elements: elements)
            guard tensor.data.count == expected else {
                throw .tensorSizeMismatch(tensor: tensor.name, expected: expected, found: tensor.data.count)
            }
            Self.putString(&out, tensor.name)
            Self.put(&out, UInt32(dimensions.count))
            for d in dimensions { Self.put(&out, UInt64(d)) }
            Self.put(&out, tensor.type.rawValue)
            Self.put(&out, UInt64(offset))
            offset += paddedSize(expected)
        }
        out += [UInt8](repeating: 0, count: paddedSize(out.count) - out.count)
        return out
    }

    private static func put<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func putString(_ out: inout [UInt8], _ s: String) {
        put(&out, UInt64(s.utf8.count))
        out.append(contentsOf: s.utf8)
    }

    private static func putValue(_ out: inout [UInt8], _ value: GGUFValue) {
        switch value {
        case .uint8(let v): put(&out, v)
        case .int8(let v): put(&out, v)
        case .uint16(let v): put(&out, v)
        case .int16(let v): put(&out, v)
        case .uint32(let v): put(&out, v)
        case .int32(let v): put(&out, v)
        case .uint64(let v): put(&out, v)
        case .int64(let v): put(&out, v)
        case .float32(let v): put(&out, v.bitPattern)
        case .float64(let v): put(&out, v.bitPattern)
        case .bool(let v): put(&out, UInt8(v ? 1 : 0))
        case .string(let s): putString(&out, s)
        case .array(let a): putArray(&out, a)
        }
    }

    private static func putArray(_ out: inout [UInt8], _ array: GGUFArray) {
        put(&out, array.elementType.rawValue)
        put(&out, UInt64(array.count))
        switch array {
        case .uint8(let a): out.append(contentsOf: a)
        case .int8(let a): a.forEach { put(&out, $0) }
        case .uint16(let a): a.forEach { put(&out, $0) }
        case .int16(let a): a.forEach { put(&out, $0) }
        case .uint32(let a): a.forEach { put(&out, $0) }
        case .int32(let a): a.forEach { put(&out, $0) }
        case .uint64(let a): a.forEach { put(&out, $0) }
        case .int64(let a): a.forEach { put(&out, $0) }
        case .float32(let a): a.forEach { put(&out, $0.bitPattern) }
        case .float64(let a): a.forEach { put(&out, $0.bitPattern) }
        case .bool(let a): a.forEach { put(&out, UInt8($0 ? 1 : 0)) }
        case .string(let a): a.forEach { putString(&out, $0) }
        case .array(let a): a.forEach { putArray(&out, $0) }
        }
    }
}

/// `write(2)` until every byte is written; false on an error (errno says which).
private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}
