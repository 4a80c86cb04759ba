import Glibc

/// The IMF-fixdate for the `Date` header, formatted at most once a second per owner.
struct HTTPDate {
    private var second = -1
    private(set) var bytes = [UInt8](repeating: 0, count: 29)

    mutating func append(to out: inout [UInt8]) {
        let now = time(nil)
        if now != second { format(now) }
        out.append(contentsOf: bytes)
    }

    private mutating func format(_ now: time_t) {
        second = now
        var t = now
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = Array("SunMonTueWedThuFriSat".utf8)
        let months = Array("JanFebMarAprMayJunJulAugSepOctNovDec".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(29)
        let d = Int(parts.tm_wday) * 3, m = Int(parts.tm_mon) * 3
        out.append(contentsOf: days[d..<d + 3])
        out.append(contentsOf: ", ".utf8)
        Self.two(Int(parts.tm_mday), &out)
        out.append(0x20)
        out.append(contentsOf: months[m..<m + 3])
        out.append(0x20)
        let year = Int(parts.tm_year) + 1900
        Self.two(year / 100, &out)
        Self.two(year % 100, &out)
        out.append(0x20)
        Self.two(Int(parts.tm_hour), &out)
        out.append(0x3A)
        Self.two(Int(parts.tm_min), &out)
        out.append(0x3A)
        Self.two(Int(parts.tm_sec), &out)
        out.append(contentsOf: " GMT".utf8)
        bytes = out
    }

    private static func two(_ value: Int, _ out: inout [UInt8]) {
        out.append(UInt8(0x30 + value / 10))
        out.append(UInt8(0x30 + value % 10))
    }
}
