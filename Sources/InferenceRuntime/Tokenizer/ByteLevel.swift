/// GPT-2's reversible byte-to-character mapping: byte-level BPE vocabularies spell every byte
/// as a printable character. Printable Latin-1 bytes stand for themselves; the other 68 bytes
/// (controls, space, 0x7F-0xA0, 0xAD) are shifted to U+0100 and up, in byte order.
enum ByteLevel {
    /// The character (Unicode scalar value) spelling each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var shifted: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = shifted
                shifted += 1
            }
        }
        return table
    }()

    /// Inverse of `scalarForByte` for scalars below 0x144; -1 where a scalar spells no byte.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 256 + 68)
        for (byte, scalar) in scalarForByte.enumerated() { table[Int(scalar)] = Int16(byte) }
        return table
    }()

    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The raw bytes a vocabulary string spells, into a reused buffer (replacing its contents);
    /// false when the text holds a character outside the mapping (such a string can never result
    /// from encoding text).
    static func decode(_ text: String, into bytes: inout [UInt8]) -> Bool {
        bytes.removeAll(keepingCapacity: true)
        if let result = text.utf8.withContiguousStorageIfAvailable({ decode($0, into: &bytes) }) { return result }
        return Array(text.utf8).withUnsafeBufferPointer { decode($0, into: &bytes) }
    }

    /// Appends the bytes spelled by UTF-8 `utf8`. Every mapped character is below U+0144, so
    /// it is one or two UTF-8 bytes; anything longer is outside the mapping.
    static func decode(_ utf8: UnsafeBufferPointer<UInt8>, into bytes: inout [UInt8]) -> Bool {
        var i = 0
        while i < utf8.count {
            let b0 = Int(utf8[i])
            var value: Int
            if b0 < 0x80 {
                value = b0
                i += 1
            } else if b0 & 0xE0 == 0xC0, i + 1 < utf8.count {
                value = (b0 & 0x1F) << 6 | Int(utf8[i + 1] & 0x3F)
                i += 2
            } else {
                return false
            }
            guard value < byteForScalar.count else { return false }
            let byte = byteForScalar[value]
            guard byte >= 0 else { return false }
            bytes.append(UInt8(byte))
        }
        return true
    }
}
