import Foundation
import Synchronization

/// Prometheus metrics kept in process and rendered in the text exposition format (0.0.4).
///
/// Label values are bounded by construction at the call sites (routes, statuses, outcomes):
/// never a user id, tenant id, key or text.
final class MetricsRegistry: Sendable {
    enum Kind: String, Sendable { case counter, gauge, histogram }

    private struct Family {
        var help: String
        var kind: Kind
        var buckets: [Double]
        var series: [[String]: Series] = [:]
        var labelNames: [String]
    }

    private struct Series {
        var value: Double = 0
        var bucketCounts: [UInt64] = []
        var sum: Double = 0
        var count: UInt64 = 0

        mutating func observe(_ value: Double, _ buckets: [Double]) {
            for (index, bound) in buckets.enumerated() where value <= bound {
                bucketCounts[index] += 1
            }
            sum += value
            count += 1
        }
    }

    private struct State {
        var families: [String: Family] = [:]
        var order: [String] = []
        var collectors: [@Sendable () -> Void] = []
    }
    private let state = Mutex(State())

    init() {}

    /// Declares a metric family; declaring the same name twice is a programming error.
    func register(_ name: String, _ kind: Kind, help: String, labels: [String] = [], buckets: [Double] = []) {
        state.withLock { state in
            precondition(state.families[name] == nil, "metric \(name) registered twice")
            state.families[name] = Family(help: help, kind: kind, buckets: buckets.sorted(), labelNames: labels)
            state.order.append(name)
        }
    }

    /// A closure run before every render, to refresh gauges from their sources (pool use, queue depth).
    func addCollector(_ collect: @escaping @Sendable () -> Void) {
        state.withLock { $0.collectors.append(collect) }
    }

    func increment(_ name: String, _ labels: [String] = [], by amount: Double = 1) {
        update(name, labels) { $0.value += amount }
    }

    func set(_ name: String, _ labels: [String] = [], to value: Double) {
        update(name, labels) { $0.value = value }
    }

    func observe(_ name: String, _ labels: [String] = [], _ value: Double) {
        state.withLock { state in
            guard let index = state.families.index(forKey: name), state.families.values[index].kind == .histogram,
                  state.families.values[index].labelNames.count == labels.count else { return }
            let buckets = state.families.values[index].buckets
            state.families.values[index].series[labels, default: Series(bucketCounts: Array(repeating: 0, count: buckets.count))]
                .observe(value, buckets)
        }
    }

    private func update(_ name: String, _ labels: [String], _ change: (inout Series) -> Void) {
        // The series changes in place (through the family's index): a copy of the family would
        // copy all of its series on every update.
        state.withLock { state in
            guard let index = state.families.index(forKey: name), state.families.values[index].kind != .histogram,
                  state.families.values[index].labelNames.count == labels.count else { return }
            change(&state.families.values[index].series[labels, default: Series()])
        }
    }

    /// The value of a counter or gauge series (tests and readiness checks).
    func value(_ name: String, _ labels: [String] = []) -> Double? {
        state.withLock { $0.families[name]?.series[labels]?.value }
    }

    func render() -> String {
        let collect = state.withLock { $0.collectors }
        collect.forEach { $0() }
        return state.withLock { state in
            var text = ""
            for name in state.order {
                guard let family = state.families[name] else { continue }
                text += "# HELP \(name) \(Self.escapeHelp(family.help))\n# TYPE \(name) \(family.kind.rawValue)\n"
                for labels in family.series.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                    let series = family.series[labels]!
                    let pairs = zip(family.labelNames, labels).map { "\($0)=\"\(Self.escapeLabel($1))\"" }
                    if family.kind == .histogram {
                        for (bound, count) in zip(family.buckets, series.bucketCounts) {
                            text += "\(name)_bucket\(Self.braces(pairs + ["le=\"\(Self.format(bound))\""])) \(count)\n"
                        }
                        text += "\(name)_bucket\(Self.braces(pairs + ["le=\"+Inf\""])) \(series.count)\n"
                        text += "\(name)_sum\(Self.braces(pairs)) \(Self.format(series.sum))\n"
                        text += "\(name)_count\(Self.braces(pairs)) \(series.count)\n"
                    } else {
                        text += "\(name)\(Self.braces(pairs)) \(Self.format(series.value))\n"
                    }
                }
            }
            return text
        }
    }

    private static func braces(_ pairs: [String]) -> String {
        pairs.isEmpty ? "" : "{" + pairs.joined(separator: ",") + "}"
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escapeLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}
