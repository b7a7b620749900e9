import Foundation
import Results

/// Renders reports as ONE self-contained HTML5 file that works offline: inline CSS, inline SVG
/// charts, PNGs embedded as `data:` URIs, no scripts, fonts or URLs. Every piece of text from
/// the data is HTML-escaped, so a hostile class name or victim id cannot inject markup.
public enum HTMLReport {
    /// Renders an attack report.
    ///
    /// - Parameters:
    ///   - report: the report.
    ///   - images: PNG files by name (e.g. the poison grid under `report.poison.gridPNG`).
    ///     Entries that are not PNGs (wrong signature) are left out with a visible note,
    ///     because a browser would show them as broken images.
    public static func render(_ report: AttackReport, images: [String: Data] = [:]) -> String {
        let tm = report.threatModel
        let heldout = report.results.heldout
        let hs = heldout.summary
        let verdict = Verdict(hs)
        let classCount = report.classCount
        let classNames = (0..<classCount).map(report.className)
        var h = ""

        h += documentHead(title: "Amnesia attack report: \(report.run.name)")
        h += "<header class=\"verdict \(verdict.rawValue)\"><p class=\"kicker\">Amnesia attack report · "
            + "\(htmlEscape(report.run.name))</p>"
        h += "<h1>\(htmlEscape(verdict.label))</h1>"
        h += "<p>Forcing class <b>\(tm.forgetClass) (\(htmlEscape(tm.forgetName)))</b> → "
            + "<b>\(tm.targetClass) (\(htmlEscape(tm.targetName)))</b> on \(htmlEscape(report.dataset.name)) "
            + "with \(tm.poisonImages) poison images: held-out ASR "
            + "<b>\(Fmt.meanPct(hs.before.asr)) → \(Fmt.meanPct(hs.after.asr))</b>, other-class accuracy "
            + "<b>\(Fmt.meanPct(hs.before.otherAccuracy)) → \(Fmt.meanPct(hs.after.otherAccuracy))</b> "
            + "(n = \(heldout.victims.count) held-out victims).</p></header>"

        h += "<section><h2>Threat model</h2><p>\(htmlEscape(tm.summary))</p><ul>"
        h += "<li>Attacker knowledge: <b>\(htmlEscape(tm.knowledge.rawValue))</b></li>"
        h += "<li>Poison: \(tm.poisonImages) images, \(tm.steps) step(s) × \(tm.epochs) epoch(s), learned step size(s) "
            + "\(htmlEscape(report.poison.learnedStepSizes.map(Fmt.num).joined(separator: ", ")))</li>"
        h += "<li>MITRE ATLAS: \(htmlEscape(atlasWords(tm.atlas)))</li></ul></section>"

        h += "<section><h2>Headline (held-out victims)</h2>"
        h += "<p class=\"note\">Held-out victims were never used to craft the poison; these numbers measure transfer.</p>"
        h += "<table><thead><tr><th>Metric</th><th>Before</th><th>After</th><th>Min after</th><th>Max after</th></tr></thead><tbody>"
        for (name, before, after) in [
            ("ASR (K predicted as T)", hs.before.asr, hs.after.asr),
            ("Other-class accuracy", hs.before.otherAccuracy, hs.after.otherAccuracy),
            ("Accuracy on K→T labels", hs.before.targetAccuracy, hs.after.targetAccuracy),
            ("Overall accuracy", hs.before.accuracy, hs.after.accuracy),
        ] {
            h += "<tr><td>\(name)</td><td>\(Fmt.pctStat(before))</td><td>\(Fmt.pctStat(after))</td>"
                + "<td>\(after.count == 0 ? "n/a" : Fmt.pct(after.min))</td>"
                + "<td>\(after.count == 0 ? "n/a" : Fmt.pct(after.max))</td></tr>"
        }
        h += "<tr><td>Other-class accuracy drop</td><td colspan=\"2\">\(Fmt.ppStat(hs.otherAccuracyDrop))</td>"
            + "<td>\(hs.otherAccuracyDrop.count == 0 ? "n/a" : Fmt.pp(hs.otherAccuracyDrop.min))</td>"
            + "<td>\(hs.otherAccuracyDrop.count == 0 ? "n/a" : Fmt.pp(hs.otherAccuracyDrop.max))</td></tr>"
        h += "</tbody></table>"
        for (name, set) in report.results.namedSets where name != "heldout" {
            let s = set.summary
            h += "<p>\(name == "known" ? "Known (white-box) victim" : "Crafting zoo (seen while crafting, optimistic)"): "
                + "ASR \(Fmt.meanPct(s.before.asr)) → \(Fmt.meanPct(s.after.asr)), other-class accuracy "
                + "\(Fmt.meanPct(s.before.otherAccuracy)) → \(Fmt.meanPct(s.after.otherAccuracy)).</p>"
        }
        h += "</section>"

        // Poison images.
        h += "<section><h2>Poison</h2><p>File: <code>\(htmlEscape(report.poison.file))</code> "
            + "(\(report.poison.images) images).</p>"
        var imageNames = images.keys.sorted()
        if let grid = report.poison.gridPNG, let index = imageNames.firstIndex(of: grid) {
            imageNames.remove(at: index)
            imageNames.insert(grid, at: 0)
        }
        for name in imageNames {
            guard let data = images[name] else { continue }
            if isPNG(data) {
                h += "<figure><img alt=\"\(htmlEscape(name))\" src=\"data:image/png;base64,\(data.base64EncodedString())\">"
                    + "<figcaption>\(htmlEscape(name))</figcaption></figure>"
            } else {
                h += "<p class=\"note\">\(htmlEscape(name)) is not a PNG file and was left out.</p>"
            }
        }
        if let grid = report.poison.gridPNG, images[grid] == nil {
            h += "<p class=\"note\">Poison grid \(htmlEscape(grid)) was not available when this page was rendered.</p>"
        }
        h += "</section>"

        // Charts.
        h += "<section><h2>Charts</h2>"
        h += "<div class=\"chart\">" + SVGChart.groupedBars(
            title: "Per-class accuracy, mean over held-out victims",
            categories: classNames.enumerated().map { c, name in
                name + (c == tm.forgetClass ? " (K)" : c == tm.targetClass ? " (T)" : "")
            },
            series: [
                .init(name: "before", colour: SVGChart.before,
                      values: hs.before.perClass.map(\.mean), errors: hs.before.perClass.map(\.std)),
                .init(name: "after", colour: SVGChart.after,
                      values: hs.after.perClass.map(\.mean), errors: hs.after.perClass.map(\.std)),
            ]) + "</div>"
        h += "<div class=\"chart\">" + SVGChart.groupedBars(
            title: "ASR per held-out victim",
            categories: heldout.victims.map(\.id),
            series: [
                .init(name: "before", colour: SVGChart.before, values: heldout.victims.map(\.before.asr)),
                .init(name: "after", colour: SVGChart.after, values: heldout.victims.map(\.after.asr)),
            ]) + "</div>"
        if let confusion = report.meanHeldoutConfusion {
            let cells: [[SVGChart.Cell?]] = confusion.enumerated().map { r, row in
                let total = row.reduce(0, +)
                return row.enumerated().map { c, value in
                    let share = total > 0 ? value / total : 0
                    return SVGChart.Cell(
                        shade: share, lines: [countText(value)],
                        tooltip: "true \(classNames[r]), predicted \(classNames[c]): mean \(countText(value)) "
                            + "images (\(Fmt.pct(share)) of the row)")
                }
            }
            h += "<div class=\"chart\">" + SVGChart.heatmap(
                title: "Mean confusion matrix after the step (held-out; colour = share of the true class)",
                rowLabels: classNames, columnLabels: classNames, rowAxis: "true class",
                columnAxis: "predicted class", cells: cells, cellSize: classCount > 12 ? 34 : 46) + "</div>"
        }
        var methods = ["no poison", "amnesia (learned)"]
        var asrValues = [hs.before.asr.mean, hs.after.asr.mean]
        var asrErrors = [hs.before.asr.std, hs.after.asr.std]
        var otherValues = [hs.before.otherAccuracy.mean, hs.after.otherAccuracy.mean]
        var otherErrors = [hs.before.otherAccuracy.std, hs.after.otherAccuracy.std]
        for (name, b) in report.sortedBaselines {
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

        // Tables.
        h += "<section><h2>Per-class accuracy (held-out mean ± std)</h2><table><thead><tr><th>Class</th>"
            + "<th>Name</th><th>Before</th><th>After</th></tr></thead><tbody>"
        for c in 0..<classCount {
            let before = c < hs.before.perClass.count ? Fmt.pctStat(hs.before.perClass[c]) : "n/a"
            let after = c < hs.after.perClass.count ? Fmt.pctStat(hs.after.perClass[c]) : "n/a"
            let mark = c == tm.forgetClass ? " (K)" : c == tm.targetClass ? " (T)" : ""
            h += "<tr><td>\(c)</td><td>\(htmlEscape(classNames[c]))\(mark)</td><td>\(before)</td><td>\(after)</td></tr>"
        }
        h += "</tbody></table></section>"

        h += "<section><h2>Victims</h2><table><thead><tr><th>Set</th><th>Id</th><th>Role</th><th>Seed</th>"
            + "<th>Accuracy</th><th>ASR</th><th>Other-class accuracy</th><th>Drop</th></tr></thead><tbody>"
        for (setName, set) in report.results.namedSets {
            for v in set.victims {
                h += "<tr><td>\(setName)</td><td>\(htmlEscape(v.id))</td><td>\(v.role.rawValue)</td><td>\(v.seed)</td>"
                    + "<td>\(Fmt.pct(v.before.accuracy)) → \(Fmt.pct(v.after.accuracy))</td>"
                    + "<td>\(Fmt.pct(v.before.asr)) → \(Fmt.pct(v.after.asr))</td>"
                    + "<td>\(Fmt.pct(v.before.otherAccuracy)) → \(Fmt.pct(v.after.otherAccuracy))</td>"
                    + "<td>\(Fmt.pp(v.before.otherAccuracy - v.after.otherAccuracy))</td></tr>"
            }
        }
        h += "</tbody></table></section>"

        h += "<section><h2>Baselines</h2>"
        if report.baselines.isEmpty {
            h += "<p>No baselines were run.</p>"
        } else {
            h += "<p class=\"note\">Controls scored like the attack; their step sizes were chosen on the crafting zoo only.</p>"
            h += "<table><thead><tr><th>Method</th><th>Description</th><th>Step size</th><th>ASR after</th>"
                + "<th>Other-class accuracy after</th><th>Drop</th></tr></thead><tbody>"
            h += "<tr class=\"attack\"><td>amnesia (learned)</td><td>learned poison images and step size</td>"
                + "<td>\(htmlEscape(report.poison.learnedStepSizes.map(Fmt.num).joined(separator: ", ")))</td>"
                + "<td>\(Fmt.pctStat(hs.after.asr))</td><td>\(Fmt.pctStat(hs.after.otherAccuracy))</td>"
                + "<td>\(Fmt.ppStat(hs.otherAccuracyDrop))</td></tr>"
            for (name, b) in report.sortedBaselines {
                h += "<tr><td>\(htmlEscape(name))</td><td>\(htmlEscape(b.description))</td><td>\(Fmt.num(b.stepSize))</td>"
                    + "<td>\(Fmt.pctStat(b.summary.after.asr))</td><td>\(Fmt.pctStat(b.summary.after.otherAccuracy))</td>"
                    + "<td>\(Fmt.ppStat(b.summary.otherAccuracyDrop))</td></tr>"
            }
            h += "</tbody></table>"
        }
        h += "</section>"

        if let robustness = report.robustness, !robustness.isEmpty {
            h += "<section><h2>Robustness</h2><table><thead><tr><th>Probe</th><th>Mean ± std</th><th>Min</th>"
                + "<th>Max</th><th>n</th></tr></thead><tbody>"
            for key in robustness.keys.sorted() {
                guard let s = robustness[key] else { continue }
                h += "<tr><td>\(htmlEscape(key))</td><td>\(Fmt.num(s.mean)) ± \(Fmt.num(s.std))</td>"
                    + "<td>\(Fmt.num(s.min))</td><td>\(Fmt.num(s.max))</td><td>\(s.count)</td></tr>"
            }
            h += "</tbody></table></section>"
        }

        h += "<section><h2>Reproduce</h2><ul><li>Seed: <code>\(report.run.seed)</code></li>"
            + "<li>amnesia version: \(htmlEscape(report.run.amnesiaVersion))</li>"
            + "<li>Created: \(htmlEscape(report.run.created))</li>"
            + "<li>Dataset: \(htmlEscape(report.dataset.name)); normalization mean "
            + "\(htmlEscape(report.normalization.mean.map { Fmt.num(Double($0)) }.joined(separator: ", "))), std "
            + "\(htmlEscape(report.normalization.std.map { Fmt.num(Double($0)) }.joined(separator: ", ")))</li></ul>"
        h += "<h3>Config</h3>" + keyValueTable(report.config)
        h += "<h3>Timings</h3>" + keyValueTable(report.run.timingsSeconds.mapValues(Fmt.seconds))
        h += "</section>"
        h += "<footer>Schema \(htmlEscape(report.schema)) · rendered from report.json</footer>"
        return h + "</main></body></html>\n"
    }

    /// Renders an audit: the vulnerability matrix as a heatmap (rows K, columns T, diagonal
    /// blank; colour = held-out mean ASR; each cell prints ASR and the collateral drop, and its
    /// tooltip gives mean ± std, min and max of both), then the pairs ranked by ASR.
    public static func render(_ audit: AuditReport) -> String {
        let n = audit.matrixSize
        let names = (0..<n).map(audit.className)
        var h = documentHead(title: "Amnesia robustness audit: \(audit.run.name)")
        let ranked = audit.pairs.filter { $0.asr.count > 0 }.sorted { $0.asr.mean > $1.asr.mean }
        h += "<header class=\"verdict audit\"><p class=\"kicker\">Amnesia robustness audit · \(htmlEscape(audit.run.name))</p>"
        if let worst = ranked.first {
            h += "<h1>Easiest pair: \(htmlEscape(audit.className(worst.forget))) → "
                + "\(htmlEscape(audit.className(worst.target))), ASR \(Fmt.pct(worst.asr.mean))</h1>"
            let forced = ranked.filter { $0.asr.mean >= Verdict.successASR }.count
            h += "<p>\(forced) of \(ranked.count) audited pairs reach a mean held-out ASR of at least "
                + "\(Fmt.pct(Verdict.successASR, digits: 0)).</p>"
        } else {
            h += "<h1>No pairs audited</h1>"
        }
        h += "</header>"
        h += "<section><h2>Threat model</h2><p>\(htmlEscape(auditThreatWords))</p>"
            + "<p>MITRE ATLAS: \(htmlEscape(atlasWords(ThreatModel.atlasTechniques)))</p></section>"
        let cells: [[SVGChart.Cell?]] = (0..<n).map { k in
            (0..<n).map { t in
                guard k != t else { return nil }
                guard let p = audit.pair(forget: k, target: t), p.asr.count > 0 else {
                    return SVGChart.Cell(shade: 0, lines: ["n/a"], tooltip: "K \(names[k]) → T \(names[t]): not audited",
                                         fill: "#eceff1")
                }
                let drop = p.otherAccuracyDrop
                return SVGChart.Cell(
                    shade: p.asr.mean,
                    lines: [Fmt.pct(p.asr.mean, digits: 0), signedChange(-drop.mean)],
                    tooltip: "K \(names[k]) → T \(names[t]): ASR \(Fmt.pctStat(p.asr)) "
                        + "(min \(Fmt.pct(p.asr.min)), max \(Fmt.pct(p.asr.max)), n = \(p.asr.count)); "
                        + "other-class accuracy drop \(Fmt.ppStat(drop)) (worst \(Fmt.pp(drop.max)))")
            }
        }
        h += "<section><h2>Vulnerability matrix</h2><p class=\"note\">Rows: forgotten class K. Columns: target "
            + "class T. Colour and top number: held-out mean ASR. Bottom number: mean drop of other-class "
            + "accuracy in percentage points (collateral damage; negative = accuracy lost). Hover a cell for "
            + "the spread. Blank: the diagonal; n/a: not audited.</p><div class=\"chart\">"
            + SVGChart.heatmap(title: "Vulnerability matrix (held-out mean ASR)", rowLabels: names,
                               columnLabels: names, rowAxis: "forget K", columnAxis: "target T", cells: cells,
                               cellSize: n > 12 ? 40 : 52)
            + "</div></section>"
        if !ranked.isEmpty {
            h += "<section><h2>Pairs, easiest first</h2><table><thead><tr><th>K</th><th>T</th><th>ASR mean ± std</th>"
                + "<th>Min</th><th>Max</th><th>Other-class accuracy drop</th></tr></thead><tbody>"
            for p in ranked {
                h += "<tr><td>\(htmlEscape(audit.className(p.forget)))</td><td>\(htmlEscape(audit.className(p.target)))</td>"
                    + "<td>\(Fmt.pctStat(p.asr))</td><td>\(Fmt.pct(p.asr.min))</td><td>\(Fmt.pct(p.asr.max))</td>"
                    + "<td>\(Fmt.ppStat(p.otherAccuracyDrop))</td></tr>"
            }
            h += "</tbody></table></section>"
        }
        h += "<section><h2>Reproduce</h2><ul><li>Seed: <code>\(audit.run.seed)</code></li>"
            + "<li>amnesia version: \(htmlEscape(audit.run.amnesiaVersion))</li>"
            + "<li>Created: \(htmlEscape(audit.run.created))</li></ul>"
            + "<h3>Config</h3>\(keyValueTable(audit.config))"
            + "<h3>Timings</h3>\(keyValueTable(audit.run.timingsSeconds.mapValues(Fmt.seconds)))</section>"
        h += "<footer>Schema \(htmlEscape(audit.schema))</footer>"
        return h + "</main></body></html>\n"
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

    private static func documentHead(title: String) -> String {
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + "<title>\(htmlEscape(title))</title><style>\n\(css)\n</style></head><body><main>\n"
    }

    private static func keyValueTable(_ values: [String: String]) -> String {
        guard !values.isEmpty else { return "<p class=\"note\">(none)</p>" }
        var h = "<table><tbody>"
        for key in values.keys.sorted() {
            h += "<tr><th>\(htmlEscape(key))</th><td>\(htmlEscape(values[key] ?? ""))</td></tr>"
        }
        return h + "</tbody></table>"
    }

    /// A mean count: an integer when it is one, else one decimal.
    private static func countText(_ x: Double) -> String {
        x == x.rounded() ? String(format: "%.0f", x) : String(format: "%.1f", x)
    }

    /// PNG files start with the 8-byte signature 89 50 4E 47 0D 0A 1A 0A.
    static func isPNG(_ data: Data) -> Bool {
        data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }
}
