/// A bounds-checked little-endian cursor over the bytes of a GGUF file. Every read checks the
/// remaining length first, so a truncated or corrupt file ends in `GGUFError.truncated`.
struct GGUFByteReader {
    let base: UnsafeRawPointer
    let size: Int
    private(set) var offset: Int = 0

    init(base: UnsafeRawPointer, size: Int) {
        self.base = base
        self.size = size
    }

    var remaining: Int { size - offset }

    private mutating func claim(_ count: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawPointer {
        guard count >= 0, count <= remaining else {
            throw GGUFError.truncated(what: what(), offset: offset, needed: count, fileSize: size)
        }
        let start = base + offset
        offset += count
        return start
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let pointer = try claim(MemoryLayout<T>.size, what())
        return T(littleEndian: pointer.loadUnaligned(as: T.self))
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// A count or length from the file, checked so that `count` items of at least
    /// `minimumItemSize` bytes each still fit in what remains of the file.
    mutating func readCount(_ what: @autoclosure () -> String, minimumItemSize: Int) throws -> Int {
        let name = what()
        let raw = try read(UInt64.self, name)
        let limit = remaining / max(1, minimumItemSize)
        guard raw <= UInt64(limit) else { throw GGUFError.countTooLarge(what: name, count: raw, limit: limit) }
        return Int(raw)
    }

    /// A GGUF string: a 64-bit byte length followed by that many bytes of UTF-8. Invalid UTF-8
    /// is replaced by U+FFFD (as llama.cpp, popi does not reject such files).
    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let name = what()
        let length = try readCount("length of \(name)", minimumItemSize: 1)
        let pointer = try claim(length, name)
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    mutating func skip(to newOffset: Int, _ what: @autoclosure () -> String) throws {
        _ = try claim(newOffset - offset, what())
    }

    /// `count` fixed-size integers in one bounds check.
    mutating func readIntegers<T: FixedWidthInteger>(_: T.Type, count: Int, _ what: @autoclosure () -> String) throws -> [T] {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
        guard !overflow else {
            throw GGUFError.countTooLarge(what: what(), count: UInt64(count), limit: remaining / MemoryLayout<T>.size)
        }
        let pointer = try claim(bytes, what())
        return (0..<count).map { T(littleEndian: pointer.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
    }
}
