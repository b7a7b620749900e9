import Foundation
import Results

/// Inline SVG charts for the HTML reports: no scripts, no external resources, every label
/// escaped, tooltips as `<title>` elements so hovering works offline and without JavaScript.
enum SVGChart {
    /// One series of a bar chart: a value in [0, 1] per category, optionally with a ± error.
    struct Series {
        var name: String
        var colour: String
        var values: [Double]
        var errors: [Double]?
    }

    /// One heatmap cell: `shade` in [0, 1] picks the colour (unless `fill` overrides it);
    /// `lines` are printed in the cell.
    struct Cell {
        var shade: Double
        var lines: [String]
        var tooltip: String
        var fill: String? = nil
    }

    static let before = "#9aa5b1"
    static let after = "#c0392b"
    static let other = "#2c7fb8"

    /// A grouped bar chart of fractions (y axis 0–100 %).
    static func groupedBars(title: String, categories: [String], series: [Series]) -> String {
        guard !categories.isEmpty, !series.isEmpty else { return noData(title) }
        let longest = Double(categories.map(\.count).max() ?? 0)
        let groupWidth = max(28.0, Double(series.count) * 14 + 10)
        let rotate = longest * 6.5 > groupWidth
        // Labels rotated by 40° reach left of their group by about 0.77 × their length.
        let left = max(52.0, rotate ? min(160, longest * 6 * 0.77 - 10) : 0)
        let top = 48.0, plotHeight = 220.0
        let bottom = rotate ? min(130, 20 + longest * 4.5) : 34
        let legendWidth = series.reduce(0.0) { $0 + Double($1.name.count) * 6.5 + 30 }
        let width = max(360, left + Double(categories.count) * groupWidth + 20,
                        Double(title.count) * 8 + 10, left + legendWidth)
        let height = top + plotHeight + bottom
        var s = svgOpen(width: width, height: height, label: title)
        s += "<text x=\"4\" y=\"18\" class=\"ct\">\(htmlEscape(title))</text>"
        // Legend, on its own line under the title.
        var lx = left
        for item in series {
            s += "<rect x=\"\(f(lx))\" y=\"26\" width=\"12\" height=\"12\" fill=\"\(item.colour)\"/>"
            s += "<text x=\"\(f(lx + 16))\" y=\"36\" class=\"cl\">\(htmlEscape(item.name))</text>"
            lx += Double(item.name.count) * 6.5 + 30
        }
        // Axis and grid.
        for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
            let y = top + plotHeight * (1 - tick)
            s += "<line x1=\"\(f(left))\" x2=\"\(f(width - 10))\" y1=\"\(f(y))\" y2=\"\(f(y))\" class=\"grid\"/>"
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" class=\"cl\" text-anchor=\"end\">\(Int(tick * 100))%</text>"
        }
        let barWidth = (groupWidth - 10) / Double(series.count)
        for (i, category) in categories.enumerated() {
            let gx = left + Double(i) * groupWidth + 5
            for (j, item) in series.enumerated() {
                guard i < item.values.count else { continue }
                let value = clamp01(item.values[i])
                let h = plotHeight * value
                let x = gx + Double(j) * barWidth
                let y = top + plotHeight - h
                var tip = "\(category) — \(item.name): \(Fmt.pct(item.values[i]))"
                if let errors = item.errors, i < errors.count {
                    tip += " ± \(String(format: "%.1f", errors[i] * 100))"
                }
                s += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(max(1, barWidth - 2)))\" height=\"\(f(h))\" "
                    + "fill=\"\(item.colour)\"><title>\(htmlEscape(tip))</title></rect>"
                if let errors = item.errors, i < errors.count, errors[i] > 0 {
                    let cx = x + (barWidth - 2) / 2
                    let y1 = top + plotHeight * (1 - clamp01(item.values[i] + errors[i]))
                    let y2 = top + plotHeight * (1 - clamp01(item.values[i] - errors[i]))
                    s += "<line x1=\"\(f(cx))\" x2=\"\(f(cx))\" y1=\"\(f(y1))\" y2=\"\(f(y2))\" class=\"err\"/>"
                }
            }
            let lxc = gx + (groupWidth - 10) / 2
            let ly = top + plotHeight + 14
            if rotate {
                s += "<text x=\"\(f(lxc))\" y=\"\(f(ly))\" class=\"cl\" text-anchor=\"end\" "
                    + "transform=\"rotate(-40 \(f(lxc)) \(f(ly)))\">\(htmlEscape(category))</text>"
            } else {
                s += "<text x=\"\(f(lxc))\" y=\"\(f(ly))\" class=\"cl\" text-anchor=\"middle\">\(htmlEscape(category))</text>"
            }
        }
        s += "<line x1=\"\(f(left))\" x2=\"\(f(width - 10))\" y1=\"\(f(top + plotHeight))\" y2=\"\(f(top + plotHeight))\" class=\"axis\"/>"
        return s + "</svg>"
    }

    /// A heatmap with row and column labels; `nil` cells are drawn blank (e.g. the diagonal).
    static func heatmap(title: String, rowLabels: [String], columnLabels: [String],
                        rowAxis: String, columnAxis: String, cells: [[Cell?]], cellSize: Double = 46) -> String {
        guard !rowLabels.isEmpty, !columnLabels.isEmpty else { return noData(title) }
        let labelWidth = min(150, 16 + Double((rowLabels.map(\.count).max() ?? 0)) * 6.5)
        let longestColumn = Double(columnLabels.map(\.count).max() ?? 0)
        let headerHeight = min(150, 30 + longestColumn * 5)
        let left = 24 + labelWidth, top = 34 + headerHeight
        // Column labels rotated by −45° reach right of their cell by about 0.7 × their length.
        let rightOverhang = min(110, max(0, longestColumn * 6 * 0.7 - cellSize / 2))
        let width = max(left + Double(columnLabels.count) * cellSize + 10 + rightOverhang,
                        Double(title.count) * 8 + 10)
        let height = top + Double(rowLabels.count) * cellSize + 10
        var s = svgOpen(width: width, height: height, label: title)
        s += "<text x=\"4\" y=\"18\" class=\"ct\">\(htmlEscape(title))</text>"
        s += "<text x=\"\(f(left))\" y=\"32\" class=\"cl\">\(htmlEscape(columnAxis)) →</text>"
        s += "<text x=\"12\" y=\"\(f(top))\" class=\"cl\" transform=\"rotate(90 12 \(f(top)))\">\(htmlEscape(rowAxis)) →</text>"
        for (j, label) in columnLabels.enumerated() {
            let x = left + Double(j) * cellSize + cellSize / 2
            let y = top - 6
            s += "<text x=\"\(f(x))\" y=\"\(f(y))\" class=\"cl\" transform=\"rotate(-45 \(f(x)) \(f(y)))\">\(htmlEscape(label))</text>"
        }
        for (i, label) in rowLabels.enumerated() {
            let y = top + Double(i) * cellSize + cellSize / 2 + 4
            s += "<text x=\"\(f(left - 6))\" y=\"\(f(y))\" class=\"cl\" text-anchor=\"end\">\(htmlEscape(label))</text>"
            for j in 0..<columnLabels.count {
                let x = left + Double(j) * cellSize
                let yTop = top + Double(i) * cellSize
                guard i < cells.count, j < cells[i].count, let cell = cells[i][j] else {
                    s += "<rect x=\"\(f(x))\" y=\"\(f(yTop))\" width=\"\(f(cellSize))\" height=\"\(f(cellSize))\" class=\"blank\"/>"
                    continue
                }
                let shade = clamp01(cell.shade)
                s += "<g><title>\(htmlEscape(cell.tooltip))</title>"
                s += "<rect x=\"\(f(x))\" y=\"\(f(yTop))\" width=\"\(f(cellSize))\" height=\"\(f(cellSize))\" "
                    + "fill=\"\(cell.fill ?? heatColour(shade))\" class=\"cell\"/>"
                let textClass = cell.fill == nil && shade > 0.55 ? "hv light" : "hv"
                let lineHeight = 12.0
                let firstY = yTop + cellSize / 2 - Double(cell.lines.count - 1) * lineHeight / 2 + 4
                for (li, text) in cell.lines.enumerated() {
                    s += "<text x=\"\(f(x + cellSize / 2))\" y=\"\(f(firstY + Double(li) * lineHeight))\" "
                        + "class=\"\(textClass)\" text-anchor=\"middle\">\(htmlEscape(text))</text>"
                }
                s += "</g>"
            }
        }
        return s + "</svg>"
    }

    /// White → dark red, perceptually monotone enough for a 0–1 scale.
    static func heatColour(_ x: Double) -> String {
        let t = clamp01(x)
        let stops: [(Double, Double, Double)] = [(255, 255, 255), (252, 187, 161), (239, 59, 44), (103, 0, 13)]
        let scaled = t * Double(stops.count - 1)
        let i = min(stops.count - 2, Int(scaled))
        let u = scaled - Double(i)
        let (a, b) = (stops[i], stops[i + 1])
        let r = Int((a.0 + (b.0 - a.0) * u).rounded())
        let g = Int((a.1 + (b.1 - a.1) * u).rounded())
        let bl = Int((a.2 + (b.2 - a.2) * u).rounded())
        return String(format: "#%02x%02x%02x", r, g, bl)
    }

    private static func svgOpen(width: Double, height: Double, label: String) -> String {
        "<svg viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" "
            + "role=\"img\" aria-label=\"\(htmlEscape(label))\">"
    }

    private static func noData(_ title: String) -> String {
        "<svg viewBox=\"0 0 360 40\" width=\"360\" height=\"40\" role=\"img\" aria-label=\"\(htmlEscape(title))\">"
            + "<text x=\"4\" y=\"24\" class=\"cl\">\(htmlEscape(title)): no data</text></svg>"
    }

    private static func clamp01(_ x: Double) -> Double {
        x.isFinite ? min(1, max(0, x)) : 0
    }

    /// Coordinates with one decimal keep the SVG small and deterministic.
    private static func f(_ x: Double) -> String {
        String(format: "%.1f", x)
    }
}
