import Foundation

/// The processor's name as /proc/cpuinfo gives it, printed with benchmark figures (machines of
/// one kind differ in CPU).
enum CPUModel {
    static let name: String = {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }()
}
