import Foundation

/// The evaluation as an SVG scatter chart drawn by hand (SVG is text; no plotting dependency):
/// POPI accuracy against context tokens (log scale) per condition, with 95% error bars.
public struct EvaluationChart: Sendable {
    public let report: EvaluationReport

    public init(report: EvaluationReport) {
        self.report = report
    }

    static let colors = ["#6b7280", "#d97706", "#2563eb", "#16a34a", "#9333ea"]

    public func svg(width: Double = 720, height: Double = 440) -> String {
        let left = 70.0, right = 230.0, top = 40.0, bottom = 60.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let maxTokens = max(10, report.rows.map(\.contextTokens).max() ?? 10)
        let decades = max(1, Int(log10(maxTokens).rounded(.up)))
        // x: log10(1 + tokens) so the no-summary condition (0 tokens) sits at the left edge.
        func x(_ tokens: Double) -> Double { left + log10(1 + tokens) / Double(decades) * plotWidth }
        func y(_ accuracy: Double) -> Double { top + (1 - accuracy) * plotHeight }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
        viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="22" font-size="15" font-weight="bold">POPI accuracy vs. context tokens</text>

        """
        for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(tick)))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(y(tick)))\" stroke=\"#e5e7eb\"/>\n"
            svg += "<text x=\"\(f(left - 8))\" y=\"\(f(y(tick) + 4))\" text-anchor=\"end\">\(Int(tick * 100))%</text>\n"
        }
        for decade in 0...decades {
            let tokens = pow(10, Double(decade)) - (decade == 0 ? 1 : 0)
            svg += "<line x1=\"\(f(x(tokens)))\" y1=\"\(f(top))\" x2=\"\(f(x(tokens)))\" y2=\"\(f(top + plotHeight))\" stroke=\"#f3f4f6\"/>\n"
            svg += "<text x=\"\(f(x(tokens)))\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"middle\">\(Int(tokens))</text>\n"
        }
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(top + plotHeight))\" stroke=\"black\"/>\n"
        svg += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotHeight))\" stroke=\"black\"/>\n"
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 18))\" text-anchor=\"middle\">context tokens (log scale)</text>\n"
        svg += "<text transform=\"translate(18 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">POPI accuracy (h &gt; 0)</text>\n"

        for (index, row) in report.rows.enumerated() {
            let color = Self.colors[index % Self.colors.count]
            let cx = x(row.contextTokens)
            svg += "<line x1=\"\(f(cx))\" y1=\"\(f(y(row.popiAccuracy.low)))\" x2=\"\(f(cx))\" y2=\"\(f(y(row.popiAccuracy.high)))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            for bound in [row.popiAccuracy.low, row.popiAccuracy.high] {
                svg += "<line x1=\"\(f(cx - 5))\" y1=\"\(f(y(bound)))\" x2=\"\(f(cx + 5))\" y2=\"\(f(y(bound)))\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
            }
            svg += "<circle cx=\"\(f(cx))\" cy=\"\(f(y(row.popiAccuracy.mean)))\" r=\"5\" fill=\"\(color)\"/>\n"
            let legendY = top + 10 + Double(index) * 22
            svg += "<circle cx=\"\(f(width - right + 20))\" cy=\"\(f(legendY))\" r=\"5\" fill=\"\(color)\"/>\n"
            svg += "<text x=\"\(f(width - right + 32))\" y=\"\(f(legendY + 4))\">\(escape(row.label))</text>\n"
        }
        svg += "<text x=\"\(f(left))\" y=\"\(f(height - 2))\" font-size=\"10\" fill=\"#6b7280\">\(escape(report.metadata.model)), \(report.users) users, \(escape(report.metadata.date))</text>\n"
        svg += "</svg>\n"
        return svg
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
