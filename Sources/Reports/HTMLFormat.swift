import Foundation
import Results

/// Renders report pages as ONE self-contained HTML5 file that works offline: inline CSS,
/// inline SVG charts, PNGs embedded as `data:` URIs, no scripts, fonts or URLs. Every piece
/// of text from the data is HTML-escaped, so a hostile class name or victim id cannot inject
/// markup.
public struct HTMLFormat: ReportFormat {
    public let fileExtension = "html"

    public init() {}

    public func render(_ page: ReportPage) -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + "<title>\(htmlEscape(page.title))</title><style>\n\(Self.css)\n</style></head><body><main>\n"
        for section in page.sections { h += draw(section, in: page) }
        h += "<footer>Schema \(htmlEscape(page.schema))\(page.source.map { " · rendered from \($0)" } ?? "")</footer>"
        return h + "</main></body></html>\n"
    }

    private func draw(_ section: ReportSection, in page: ReportPage) -> String {
        switch section {
        case let .attackSummary(s):
            let (tm, hs) = (s.threatModel, s.heldout)
            return kicker("verdict \(s.verdict.rawValue)", page) + "<h1>\(htmlEscape(s.verdict.label))</h1>"
                + "<p>Forcing class <b>\(tm.forgetClass) (\(htmlEscape(tm.forgetName)))</b> → "
                + "<b>\(tm.targetClass) (\(htmlEscape(tm.targetName)))</b> on \(htmlEscape(s.dataset)) "
                + "with \(tm.poisonImages) poison images: held-out ASR "
                + "<b>\(Fmt.meanPct(hs.before.asr)) → \(Fmt.meanPct(hs.after.asr))</b>, other-class accuracy "
                + "<b>\(Fmt.meanPct(hs.before.otherAccuracy)) → \(Fmt.meanPct(hs.after.otherAccuracy))</b> "
                + "(n = \(s.heldoutCount) held-out victims)" + (hs.oracle.map { "; \(htmlEscape(oracleWords($0)))" } ?? "")
                + ".</p></header>"
        case let .distillation(d):
            let best = d.rows.first
            return kicker("verdict distillation", page) + "<h1>Distillation, \(htmlEscape(d.setting))</h1>"
                + "<p>\(d.images) images × \(d.steps) step(s) × \(d.epochs) epoch(s) on \(htmlEscape(d.dataset)): test accuracy "
                + "<b>\(best.map { "\(Fmt.meanPct($0.before)) → \(Fmt.pctStat($0.after))" } ?? "n/a")</b> on \(htmlEscape(d.networks)).</p>"
                + "<p class=\"note\">\(htmlEscape(d.settingDescription))</p></header>"
                + "<section><h2>Distilled data beside the real-image baselines</h2>"
                + table(DistillationRow.columns, d.rows.map { $0.cells(escape: htmlEscape) }) + "<ul>"
                + d.rows.map { "<li>\(htmlEscape($0.name)): \(htmlEscape($0.description))</li>" }.joined()
                + d.others.map { "<li>\(htmlEscape($0.label)): accuracy after \(Fmt.pctStat($0.accuracy))</li>" }.joined()
                + (d.craftSeconds.map { "<li>Distilling took \(Fmt.seconds($0)).</li>" } ?? "") + "</ul></section>"
        case let .auditSummary(ranked):
            var h = kicker("verdict audit", page)
            if let worst = ranked.first {
                let forced = ranked.filter { $0.pair.asr.mean >= Verdict.successASR }.count
                h += "<h1>Easiest pair: \(htmlEscape(worst.forget)) → \(htmlEscape(worst.target)), "
                    + "ASR \(Fmt.pct(worst.pair.asr.mean))</h1>"
                    + "<p>\(forced) of \(ranked.count) audited pairs reach a mean held-out ASR of at least "
                    + "\(Fmt.pct(Verdict.successASR, digits: 0)).</p>"
            } else {
                h += "<h1>No pairs audited</h1>"
            }
            return h + "</header>"
        case let .threatModel(facts):
            var h = "<section><h2>Threat model</h2><p>\(htmlEscape(facts.summary))</p><ul>"
            if let tm = facts.attack {
                h += "<li>Attacker knowledge: <b>\(htmlEscape(tm.knowledge.rawValue))</b></li>"
                h += "<li>Poison: \(tm.poisonImages) images, \(tm.steps) step(s) × \(tm.epochs) epoch(s), learned step size(s) "
                    + "\(htmlEscape(facts.learnedStepSizes.map(Fmt.num).joined(separator: ", ")))</li>"
            }
            return h + "<li>MITRE ATLAS: \(htmlEscape(atlasWords(facts.atlas)))</li></ul></section>"
        case let .headline(headline):
            return drawHeadline(headline)
        case let .oracle(oracle):
            return "<section><h2>Against the oracle</h2><p class=\"note\">\(htmlEscape(oracle.explanation))</p>"
                + table(OracleTable.columns, oracle.rows.map { OracleTable.cells($0, escape: htmlEscape) },
                        firstRowClass: "attack") + "</section>"
        case let .poison(poison):
            return drawPoison(poison)
        case let .charts(charts):
            return drawCharts(charts)
        case let .perClass(rows, set):
            return "<section><h2>Per-class accuracy (\(htmlEscape(set)) mean ± std)</h2>"
                + table(["Class", "Name", "Before", "After"], rows.map { row in
                    ["\(row.index)", htmlEscape(row.name) + row.mark, Fmt.pctStat(row.before), Fmt.pctStat(row.after)]
                }) + "</section>"
        case let .victims(victims):
            return "<section><h2>Victims</h2>"
                + table(["Set", "Id", "Role", "Seed", "Accuracy", "ASR", "Other-class accuracy", "Drop"], victims.map { set, v in
                    [set, htmlEscape(v.id), v.role.rawValue, "\(v.seed)",
                     "\(Fmt.pct(v.before.accuracy)) → \(Fmt.pct(v.after.accuracy))",
                     "\(Fmt.pct(v.before.asr)) → \(Fmt.pct(v.after.asr))",
                     "\(Fmt.pct(v.before.otherAccuracy)) → \(Fmt.pct(v.after.otherAccuracy))",
                     Fmt.pp(v.before.otherAccuracy - v.after.otherAccuracy)]
                }) + "</section>"
        case let .baselines(table):
            return drawBaselines(table)
        case let .robustness(probes):
            return "<section><h2>Robustness</h2>"
                + table(["Probe", "Mean ± std", "Min", "Max", "n"], probes.map { probe, s in
                    [htmlEscape(probe), "\(Fmt.num(s.mean)) ± \(Fmt.num(s.std))", Fmt.num(s.min), Fmt.num(s.max), "\(s.count)"]
                }) + "</section>"
        case let .defenses(rows):
            return "<section><h2>Defenses</h2><p class=\"note\">The poison and its controls when the held-out victims "
                + "deploy each defense around their update.</p>" + table(defenseColumns, rows.map { defenseCells($0, escape: htmlEscape) })
                + "<div class=\"chart\">" + SVGChart.groupedBars(
                    title: "ASR under each defense (held-out mean ± std)", categories: rows.map(\.defense),
                    series: [.init(name: "poison", colour: SVGChart.after, values: rows.map(\.summary.after.asr.mean),
                                   errors: rows.map(\.summary.after.asr.std)),
                             .init(name: "best control", colour: SVGChart.before, values: rows.map { $0.bestControl?.asr.mean ?? 0 },
                                   errors: rows.map { $0.bestControl?.asr.std ?? 0 })]) + "</div>"
                + "<ul>" + rows.dropFirst().map { "<li><code>\(htmlEscape($0.defense))</code>: \(htmlEscape($0.description))</li>" }.joined()
                + "</ul></section>"
        case let .matrix(matrix):
            return drawMatrix(matrix)
        case let .rankedPairs(ranked):
            return "<section><h2>Pairs, easiest first</h2>"
                + table(["K", "T", "ASR mean ± std", "Min", "Max", "Other-class accuracy drop"], ranked.map { p in
                    [htmlEscape(p.forget), htmlEscape(p.target), Fmt.pctStat(p.pair.asr), Fmt.pct(p.pair.asr.min),
                     Fmt.pct(p.pair.asr.max), Fmt.ppStat(p.pair.otherAccuracyDrop)]
                }) + "</section>"
        case let .attackerRange(range):
            return "<section><h2>Gray-box, white-box and the oracle</h2><p class=\"note\">\(htmlEscape(AttackerRange.explanation))</p>"
                + table(AttackerRange.columns, range.rows.map { AttackerRange.cells($0, escape: htmlEscape) }) + "</section>"
        case let .reproduce(r):
            var h = "<section><h2>Reproduce</h2><ul><li>Seed: <code>\(r.seed)</code></li>"
                + "<li>amnesia version: \(htmlEscape(r.amnesiaVersion))</li>"
                + "<li>Created: \(htmlEscape(r.created))</li>"
            if let dataset = r.dataset {
                h += "<li>Dataset: \(htmlEscape(dataset.name)); normalization mean "
                    + "\(htmlEscape(dataset.mean.map(Fmt.num).joined(separator: ", "))), std "
                    + "\(htmlEscape(dataset.std.map(Fmt.num).joined(separator: ", ")))</li>"
            }
            return h + "</ul><h3>Config</h3>" + keyValueTable(r.config)
                + "<h3>Timings</h3>" + keyValueTable(r.timings.mapValues(Fmt.seconds)) + "</section>"
        }
    }

    /// Opens the page's header: the verdict's colour and "kind · name" above the title.
    private func kicker(_ style: String, _ page: ReportPage) -> String {
        "<header class=\"\(style)\"><p class=\"kicker\">\(htmlEscape(page.kind)) · \(htmlEscape(page.name))</p>"
    }

    private func drawHeadline(_ headline: Headline) -> String {
        let hs = headline.heldout
        var h = "<section><h2>Headline (held-out victims)</h2>"
        h += "<p class=\"note\">Held-out victims were never used to craft the poison; these numbers measure transfer.</p>"
        h += "<table><thead><tr><th>Metric</th><th>Before</th><th>After</th><th>Min after</th><th>Max after</th></tr></thead><tbody>"
        for (name, before, after) in headlineMetrics(hs) {
            h += "<tr><td>\(name)</td><td>\(Fmt.pctStat(before))</td><td>\(Fmt.pctStat(after))</td>"
                + "<td>\(after.count == 0 ? "n/a" : Fmt.pct(after.min))</td>"
                + "<td>\(after.count == 0 ? "n/a" : Fmt.pct(after.max))</td></tr>"
        }
        h += "<tr><td>Other-class accuracy drop</td><td colspan=\"2\">\(Fmt.ppStat(hs.otherAccuracyDrop))</td>"
            + "<td>\(hs.otherAccuracyDrop.count == 0 ? "n/a" : Fmt.pp(hs.otherAccuracyDrop.min))</td>"
            + "<td>\(hs.otherAccuracyDrop.count == 0 ? "n/a" : Fmt.pp(hs.otherAccuracyDrop.max))</td></tr>"
        h += "</tbody></table>"
        if let worst = headline.worstOtherClass {
            h += "<p>Worst single other class: \(htmlEscape(worst.name)), accuracy down \(Fmt.pp(worst.drop)) on average.</p>"
        }
        for (label, s) in headline.others {
            h += "<p>\(label): ASR \(Fmt.meanPct(s.before.asr)) → \(Fmt.pctStat(s.after.asr)) (min "
                + "\(s.after.asr.count == 0 ? "n/a" : Fmt.pct(s.after.asr.min))), other-class accuracy "
                + "\(Fmt.meanPct(s.before.otherAccuracy)) → \(Fmt.meanPct(s.after.otherAccuracy)).</p>"
        }
        return h + "</section>"
    }

    /// The poison's PNGs are embedded; bytes that are not a PNG (wrong signature) are left
    /// out with a visible note, because a browser would show them as broken images.
    private func drawPoison(_ poison: PoisonFigures) -> String {
        var h = "<section><h2>\(htmlEscape(poison.heading))</h2><p>File: <code>\(htmlEscape(poison.file))</code> (\(poison.images) images).</p>"
        for (name, data) in poison.figures {
            if Self.isPNG(data) {
                h += "<figure><img alt=\"\(htmlEscape(name))\" src=\"data:image/png;base64,\(data.base64EncodedString())\">"
                    + "<figcaption>\(htmlEscape(name))</figcaption></figure>"
            } else {
                h += "<p class=\"note\">\(htmlEscape(name)) is not a PNG file and was left out.</p>"
            }
        }
        if let grid = poison.gridPNG, !poison.figures.contains(where: { $0.name == grid }) {
            h += "<p class=\"note\">Poison grid \(htmlEscape(grid)) was not available when this page was rendered.</p>"
        }
        return h + "</section>"
    }

    private func drawCharts(_ charts: AttackCharts) -> String {
        let hs = charts.heldout.summary
        let names = charts.classes.map(\.name)
        var h = "<section><h2>Charts</h2>"
        h += "<div class=\"chart\">" + SVGChart.groupedBars(
            title: "Per-class accuracy, mean over held-out victims",
            categories: charts.classes.map { $0.name + $0.mark },
            series: [
                .init(name: "before", colour: SVGChart.before,
                      values: hs.before.perClass.map(\.mean), errors: hs.before.perClass.map(\.std)),
                .init(name: "after", colour: SVGChart.after,
                      values: hs.after.perClass.map(\.mean), errors: hs.after.perClass.map(\.std)),
            ]) + "</div>"
        h += "<div class=\"chart\">" + SVGChart.groupedBars(
            title: "ASR per held-out victim",
            categories: charts.heldout.victims.map(\.id),
            series: [
                .init(name: "before", colour: SVGChart.before, values: charts.heldout.victims.map(\.before.asr)),
                .init(name: "after", colour: SVGChart.after, values: charts.heldout.victims.map(\.after.asr)),
            ]) + "</div>"
        if let confusion = charts.meanConfusion {
            let cells: [[SVGChart.Cell?]] = confusion.enumerated().map { r, row in
                let total = row.reduce(0, +)
                return row.enumerated().map { c, value in
                    let share = total > 0 ? value / total : 0
                    return SVGChart.Cell(
                        shade: share, lines: [countText(value)],
                        tooltip: "true \(names[r]), predicted \(names[c]): mean \(countText(value)) "
                            + "images (\(Fmt.pct(share)) of the row)")
                }
            }
            h += "<div class=\"chart\">" + SVGChart.heatmap(
                title: "Mean confusion matrix after the step (held-out; colour = share of the true class)",
                rowLabels: names, columnLabels: names, rowAxis: "true class",
                columnAxis: "predicted class", cells: cells, cellSize: names.count > 12 ? 34 : 46) + "</div>"
        }
        let table = charts.baselines
        var methods = ["no poison", "amnesia (learned)"]
        var asrValues = [table.attack.before.asr.mean, table.attack.after.asr.mean]
        var asrErrors = [table.attack.before.asr.std, table.attack.after.asr.std]
        var otherValues = [table.attack.before.otherAccuracy.mean, table.attack.after.otherAccuracy.mean]
        var otherErrors = [table.attack.before.otherAccuracy.std, table.attack.after.otherAccuracy.std]
        for (name, b) in table.controls {
            methods.append(name)
            asrValues.append(b.summary.after.asr.mean)
            asrErrors.append(b.summary.after.asr.std)
            otherValues.append(b.summary.after.otherAccuracy.mean)
            otherErrors.append(b.summary.after.otherAccuracy.std)
        }
        h += "<div class=\"chart\">" + SVGChart.groupedBars(
            title: "Attack vs baselines after the step (mean ± std)",
            categories: methods,
            series: [
                .init(name: "ASR", colour: SVGChart.after, values: asrValues, errors: asrErrors),
                .init(name: "other-class accuracy", colour: SVGChart.other, values: otherValues, errors: otherErrors),
            ]) + "</div></section>"
        return h
    }

    private func drawBaselines(_ table: BaselineTable) -> String {
        var h = "<section><h2>Baselines</h2>"
        if table.controls.isEmpty {
            h += "<p>No baselines were run.</p>"
        } else {
            h += "<p class=\"note\">Controls scored like the attack; their step sizes were chosen on the crafting zoo only.</p>"
            let attack = ["amnesia (learned)", "learned poison images and step size",
                          htmlEscape(table.learnedStepSizes.map(Fmt.num).joined(separator: ", ")),
                          Fmt.pctStat(table.attack.after.asr), Fmt.pctStat(table.attack.after.otherAccuracy),
                          Fmt.ppStat(table.attack.otherAccuracyDrop)]
            h += self.table(["Method", "Description", "Step size", "ASR after", "Other-class accuracy after", "Drop"],
                            [attack] + table.controls.map { name, b in
                                [htmlEscape(name), htmlEscape(b.description), Fmt.num(b.stepSize),
                                 Fmt.pctStat(b.summary.after.asr), Fmt.pctStat(b.summary.after.otherAccuracy),
                                 Fmt.ppStat(b.summary.otherAccuracyDrop)]
                            }, firstRowClass: "attack")
        }
        return h + "</section>"
    }

    /// The matrix as a heatmap (rows K, columns T, diagonal blank; colour = held-out mean
    /// ASR; each cell prints ASR and the collateral drop, and its tooltip gives mean ± std,
    /// min and max of both).
    private func drawMatrix(_ matrix: VulnerabilityMatrix) -> String {
        let names = matrix.names
        let cells: [[SVGChart.Cell?]] = names.indices.map { k in
            names.indices.map { t in
                guard k != t else { return nil }
                guard let p = matrix.cells[k][t] else {
                    return SVGChart.Cell(shade: 0, lines: ["n/a"], tooltip: "K \(names[k]) → T \(names[t]): not audited",
                                         fill: "#eceff1")
                }
                let drop = p.otherAccuracyDrop
                return SVGChart.Cell(
                    shade: p.asr.mean,
                    lines: [Fmt.pct(p.asr.mean, digits: 0), signedChange(-drop.mean)]
                        + (p.oracle.map { ["×" + String(format: "%.2f", $0.meanASRRatio)] } ?? []),
                    tooltip: "K \(names[k]) → T \(names[t]): ASR \(Fmt.pctStat(p.asr)) "
                        + "(min \(Fmt.pct(p.asr.min)), max \(Fmt.pct(p.asr.max)), n = \(p.asr.count)); "
                        + "other-class accuracy drop \(Fmt.ppStat(drop)) (worst \(Fmt.pp(drop.max)))"
                        + (p.oracle.map { "; \(oracleWords($0))" } ?? "")
                        + (p.whiteBox.map { "; white-box (crafted on the model's weights): ASR \(Fmt.pctStat($0.asr))"
                            + ($0.oracle.map { ", " + String(format: "%.2f", $0.meanASRRatio) + " of the oracle's" } ?? "") } ?? ""))
            }
        }
        let title = matrix.defense.map { "Vulnerability matrix under \(htmlEscape($0))" } ?? "Vulnerability matrix"
        let defended = matrix.defense.map { " The held-out victims deploy the defense <code>\(htmlEscape($0))</code>." } ?? ""
        return "<section><h2>\(title)</h2><p class=\"note\">Rows: forgotten class K. Columns: target "
            + "class T. Colour and top number: held-out mean ASR. Bottom number: mean drop of other-class "
            + "accuracy in percentage points (collateral damage; negative = accuracy lost). Third number, with an "
            + "oracle: the share of the oracle's ASR. Hover a cell for the spread. Blank: the diagonal; n/a: not audited.\(defended)</p><div class=\"chart\">"
            + SVGChart.heatmap(title: "\(title) (held-out mean ASR)", rowLabels: names,
                               columnLabels: names, rowAxis: "forget K", columnAxis: "target T", cells: cells,
                               cellSize: names.count > 12 ? 40 : 52)
            + "</div></section>"
    }

    // MARK: helpers

    private static let css = """
    body{margin:0;background:#f4f5f7;color:#1f2933;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
    main{max-width:1100px;margin:0 auto;padding:0 20px 40px}
    header.verdict{margin:20px 0;padding:16px 20px;border-radius:6px;border-left:8px solid #7b8794;background:#fff}
    header.effective{border-color:#c0392b}header.damaging{border-color:#d35400}
    header.partial{border-color:#f39c12}header.ineffective{border-color:#27ae60}header.audit{border-color:#6c3483}
    header h1{margin:4px 0;font-size:1.6em}.kicker{margin:0;color:#52606d;font-size:.9em}
    section{background:#fff;margin:16px 0;padding:12px 20px;border-radius:6px}
    h2{margin:.3em 0 .6em;font-size:1.25em;border-bottom:1px solid #e4e7eb;padding-bottom:4px}
    table{border-collapse:collapse;margin:8px 0;font-size:.92em}
    th,td{border:1px solid #cbd2d9;padding:4px 8px;text-align:left;vertical-align:top}
    th{background:#eef1f4}tr.attack td{font-weight:600}
    td{font-variant-numeric:tabular-nums}code{background:#eef1f4;padding:0 3px;border-radius:3px;word-break:break-all}
    .note{color:#52606d;font-size:.9em}figure{margin:8px 0}figcaption{color:#52606d;font-size:.85em}
    img{max-width:100%;image-rendering:pixelated;border:1px solid #cbd2d9}
    .chart{overflow-x:auto;margin:12px 0}svg{max-width:100%;height:auto;font-family:inherit}
    svg .ct{font-size:14px;font-weight:600;fill:#1f2933}svg .cl{font-size:11px;fill:#3e4c59}
    svg .grid{stroke:#e4e7eb}svg .axis{stroke:#7b8794}svg .err{stroke:#1f2933;stroke-width:1.2}
    svg .blank{fill:#f4f5f7;stroke:#fff}svg .cell{stroke:#e4e7eb}svg .hv{font-size:11px;fill:#1f2933}
    svg .hv.light{fill:#fff}footer{color:#7b8794;font-size:.85em;text-align:center}
    """

    /// A table with a header row; cells are HTML already (escaped by the caller).
    private func table(_ columns: [String], _ rows: [[String]], firstRowClass: String? = nil) -> String {
        var h = "<table><thead><tr>" + columns.map { "<th>\($0)</th>" }.joined() + "</tr></thead><tbody>"
        for (index, cells) in rows.enumerated() {
            let style = index == 0 ? firstRowClass.map { " class=\"\($0)\"" } ?? "" : ""
            h += "<tr\(style)>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>"
        }
        return h + "</tbody></table>"
    }

    private func keyValueTable(_ values: [String: String]) -> String {
        guard !values.isEmpty else { return "<p class=\"note\">(none)</p>" }
        var h = "<table><tbody>"
        for key in values.keys.sorted() {
            h += "<tr><th>\(htmlEscape(key))</th><td>\(htmlEscape(values[key] ?? ""))</td></tr>"
        }
        return h + "</tbody></table>"
    }

    /// A mean count: an integer when it is one, else one decimal.
    private func countText(_ x: Double) -> String {
        x == x.rounded() ? String(format: "%.0f", x) : String(format: "%.1f", x)
    }

    /// PNG files start with the 8-byte signature 89 50 4E 47 0D 0A 1A 0A.
    private static func isPNG(_ data: Data) -> Bool {
        data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }
}
