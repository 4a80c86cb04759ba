/// Finds stop strings in streamed text. Text that might still turn out to be the start of a stop
/// string is held back; everything else is released as soon as it is certain.
struct StopMatcher {
    private let stops: [[UInt8]]
    private var pending: [UInt8] = []
    private(set) var stopped = false

    init(_ stops: [String]) {
        self.stops = stops.map { Array($0.utf8) }
    }

    /// Adds decoded text (whole UTF-8 sequences); returns the text now safe to emit. After a stop
    /// string is found, `stopped` is true and the text before it has been returned.
    mutating func append(_ text: String) -> String {
        guard !stopped else { return "" }
        pending += text.utf8
        if let cut = firstStop() {
            stopped = true
            defer { pending.removeAll() }
            return String(decoding: pending[..<cut], as: UTF8.self)
        }
        let keep = heldBackLength()
        let released = String(decoding: pending[..<(pending.count - keep)], as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return released
    }

    /// The held-back text at the end of generation.
    mutating func finish() -> String {
        defer { pending.removeAll() }
        return stopped ? "" : String(decoding: pending, as: UTF8.self)
    }

    private func firstStop() -> Int? {
        var first: Int?
        for stop in stops where stop.count <= pending.count {
            for start in 0...(pending.count - stop.count) where pending[start..<(start + stop.count)].elementsEqual(stop) {
                first = min(first ?? start, start)
                break
            }
        }
        return first
    }

    /// Length of the longest suffix of `pending` that is a proper prefix of a stop string.
    private func heldBackLength() -> Int {
        var longest = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, pending.count), to: longest, by: -1)
            where pending.suffix(length).elementsEqual(stop.prefix(length)) {
                longest = length
                break
            }
        }
        return longest
    }
}
