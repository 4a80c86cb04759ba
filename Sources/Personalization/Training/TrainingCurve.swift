import Foundation

/// A run's curves as SVG drawn by hand (for GRPO: mean reward, accuracy, KL to the base and
/// summary length), each as the step values (light) and their moving average (dark), so a reader
/// sees both the noise and the trend, and whether length or KL ran away.
public struct TrainingCurve<Record: TrainingRecord>: Sendable {
    public let records: [Record]
    public let title: String
    /// Steps in the moving average.
    public let window: Int

    public init(records: [Record], title: String, window: Int = 10) {
        self.records = records
        self.title = title
        self.window = max(1, window)
    }

    public func svg(width: Double = 800, height: Double = 560) -> String {
        let panels = Record.curves
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
        viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="20" y="22" font-size="15" font-weight="bold">\(escape(title))</text>

        """
        let rows = max(1, (panels.count + 1) / 2)
        let panelWidth = (width - 40) / 2, panelHeight = (height - 50) / Double(rows)
        for (index, panel) in panels.enumerated() {
            let originX = 20 + Double(index % 2) * panelWidth, originY = 40 + Double(index / 2) * panelHeight
            svg += plot(panel.title, values: records.map(panel.value), x: originX, y: originY,
                        width: panelWidth - 20, height: panelHeight - 20)
        }
        svg += "</svg>\n"
        return svg
    }

    private func plot(_ title: String, values: [Double], x: Double, y: Double, width: Double, height: Double) -> String {
        let left = x + 55, top = y + 18, plotWidth = width - 60, plotHeight = height - 40
        var out = "<text x=\"\(f(left))\" y=\"\(f(y + 10))\" font-weight=\"bold\">\(escape(title))</text>\n"
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#9ca3af\"/>\n"
        let finite = values.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max(), !records.isEmpty else { return out }
        let span = high > low ? high - low : max(abs(high), 1)
        let bottom = high > low ? low : low - span / 2
        let steps = records.map { Double($0.step) }
        let firstStep = steps.first!, stepSpan = max(steps.last! - firstStep, 1)
        func px(_ step: Double) -> Double { left + (step - firstStep) / stepSpan * plotWidth }
        func py(_ value: Double) -> Double { top + (1 - (value - bottom) / span) * plotHeight }
        for fraction in [0.0, 0.5, 1.0] {
            let value = bottom + fraction * span
            out += "<text x=\"\(f(left - 5))\" y=\"\(f(py(value) + 4))\" text-anchor=\"end\">\(tick(value))</text>\n"
        }
        out += "<text x=\"\(f(left))\" y=\"\(f(top + plotHeight + 14))\">step \(Int(firstStep))</text>\n"
        out += "<text x=\"\(f(left + plotWidth))\" y=\"\(f(top + plotHeight + 14))\" text-anchor=\"end\">step \(Int(steps.last!))</text>\n"
        let points = zip(steps, values).filter { $0.1.isFinite }
        out += polyline(points.map { (px($0.0), py($0.1)) }, color: "#93c5fd", width: 1)
        var averaged: [(Double, Double)] = []
        for index in points.indices {
            let slice = points[max(0, index - window + 1)...index].map(\.1)
            averaged.append((px(points[index].0), py(slice.reduce(0, +) / Double(slice.count))))
        }
        out += polyline(averaged, color: "#1d4ed8", width: 2)
        return out
    }

    private func polyline(_ points: [(Double, Double)], color: String, width: Double) -> String {
        guard !points.isEmpty else { return "" }
        let list = points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
        return "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(f(width))\"/>\n"
    }

    private func tick(_ value: Double) -> String {
        abs(value) >= 100 || value == 0 ? String(format: "%.0f", value) : String(format: "%.3g", value)
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
