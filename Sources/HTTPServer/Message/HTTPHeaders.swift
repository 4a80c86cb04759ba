/// An ordered list of header fields. Names keep their spelling; lookups ignore ASCII case.
public struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Field = (name: String, value: String)
    var fields: [Field]

    public init() { fields = [] }

    public init(_ fields: [(String, String)]) {
        self.fields = fields.map { (name: $0.0, value: $0.1) }
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(elements)
    }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? {
        for field in fields where Self.namesEqual(field.name, name) { return field.value }
        return nil
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.compactMap { Self.namesEqual($0.name, name) ? $0.value : nil }
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// True when a comma-separated list header (e.g. `Connection`) holds `token`, in any case.
    public func containsToken(_ token: String, in name: String) -> Bool {
        for field in fields where Self.namesEqual(field.name, name) {
            for item in field.value.utf8.split(separator: UInt8(ascii: ",")) {
                if Self.asciiEqualTrimmed(item, token) { return true }
            }
        }
        return false
    }

    public mutating func add(_ name: String, _ value: String) {
        fields.append((name: name, value: value))
    }

    /// Replaces every field called `name` by one with `value`.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name: name, value: value))
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { Self.namesEqual($0.name, name) }
    }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    static func namesEqual(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in b.withUTF8 { y in asciiCaseInsensitiveEqual(x, y) } }
    }

    private static func asciiEqualTrimmed(_ item: Substring.UTF8View.SubSequence, _ token: String) -> Bool {
        var start = item.startIndex, end = item.endIndex
        while start < end, item[start] == 0x20 || item[start] == 0x09 { start = item.index(after: start) }
        while end > start {
            let before = item.index(before: end)
            guard item[before] == 0x20 || item[before] == 0x09 else { break }
            end = before
        }
        let trimmed = item[start..<end]
        guard trimmed.count == token.utf8.count else { return false }
        return zip(trimmed, token.utf8).allSatisfy { asciiLower($0) == asciiLower($1) }
    }
}

@inline(__always) func asciiLower(_ byte: UInt8) -> UInt8 {
    byte &- 0x41 < 26 ? byte | 0x20 : byte
}

func asciiCaseInsensitiveEqual(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
    guard x.count == y.count else { return false }
    for i in 0..<x.count where asciiLower(x[i]) != asciiLower(y[i]) { return false }
    return true
}

func asciiCaseInsensitiveEqual(_ x: String, _ y: StaticString) -> Bool {
    var x = x
    return x.withUTF8 { a in
        asciiCaseInsensitiveEqual(a, UnsafeBufferPointer(start: y.utf8Start, count: y.utf8CodeUnitCount))
    }
}
