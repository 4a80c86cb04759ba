/// Text decoded to code points with their character classes and UTF-8 offsets, the input of
/// `PreTokenizer`. Buffers are reused between fragments and only grow; `count` code points are valid.
struct CodePoints {
    private(set) var count = 0
    private(set) var scalars: [UInt32] = []
    private(set) var classes: [UInt8] = []
    /// UTF-8 offset of each code point, plus the end offset at `offsets[count]`.
    private(set) var offsets: [Int] = []

    /// Decodes valid UTF-8 (a Swift string's bytes).
    mutating func load(_ utf8: UnsafeBufferPointer<UInt8>) {
        let n = utf8.count
        if scalars.count < n {
            scalars = [UInt32](repeating: 0, count: n)
            classes = [UInt8](repeating: 0, count: n)
            offsets = [Int](repeating: 0, count: n + 1)
        }
        var count = 0
        CharacterClass.asciiTable.withUnsafeBufferPointer { ascii in
            scalars.withUnsafeMutableBufferPointer { scalars in
                classes.withUnsafeMutableBufferPointer { classes in
                    offsets.withUnsafeMutableBufferPointer { offsets in
                        var i = 0
                        while i < n {
                            let b0 = UInt32(utf8[i])
                            let value: UInt32
                            let length: Int
                            if b0 < 0x80 {
                                value = b0
                                length = 1
                            } else if b0 < 0xE0 {
                                value = (b0 & 0x1F) << 6 | UInt32(utf8[i + 1] & 0x3F)
                                length = 2
                            } else if b0 < 0xF0 {
                                value = (b0 & 0x0F) << 12 | UInt32(utf8[i + 1] & 0x3F) << 6 | UInt32(utf8[i + 2] & 0x3F)
                                length = 3
                            } else {
                                value = (b0 & 0x07) << 18 | UInt32(utf8[i + 1] & 0x3F) << 12
                                    | UInt32(utf8[i + 2] & 0x3F) << 6 | UInt32(utf8[i + 3] & 0x3F)
                                length = 4
                            }
                            scalars[count] = value
                            classes[count] = value < 128 ? ascii[Int(value)] : CharacterClass.of(value)
                            offsets[count] = i
                            i += length
                            count += 1
                        }
                        offsets[count] = n
                    }
                }
            }
        }
        self.count = count
    }
}
