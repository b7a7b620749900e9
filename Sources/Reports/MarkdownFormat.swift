import Foundation
import Results

/// Renders report pages as Markdown: readable as plain text, in a terminal or on a code host.
///
/// All names coming from data (class names, victim ids, config) are escaped, so a hostile
/// class name cannot inject HTML or break a table. Markdown has no inline graphics: the
/// charts are left out (the tables carry the same numbers).
public struct MarkdownFormat: ReportFormat {
    public let fileExtension = "md"

    public init() {}

    public func render(_ page: ReportPage) -> String {
        var md = MarkdownBuilder()
        md.line("# \(mdEscape(page.title))")
        md.line()
        for section in page.sections { draw(section, into: &md) }
        md.line("_Schema \(mdEscape(page.schema))\(page.source.map { "; rendered from \($0)" } ?? "")._")
        return md.text
    }

    private func draw(_ section: ReportSection, into md: inout MarkdownBuilder) {
        switch section {
        case let .attackSummary(s):
            let h = s.heldout
            md.line("**\(s.verdict.label)**: forcing class \(forget(s.threatModel)) → \(target(s.threatModel)) on "
                    + "\(mdEscape(s.dataset)); held-out ASR \(Fmt.meanPct(h.before.asr)) → \(Fmt.meanPct(h.after.asr)), "
                    + "other-class accuracy \(Fmt.meanPct(h.before.otherAccuracy)) → \(Fmt.meanPct(h.after.otherAccuracy))"
                    + (h.oracle.map { "; \(oracleWords($0))" } ?? "") + ".")
            md.line()
        case let .distillation(d):
            let best = d.rows.first
            md.line("**Distillation, \(mdEscape(d.setting))**: \(d.images) images × \(d.steps) step(s) × \(d.epochs) epoch(s) on "
                    + "\(mdEscape(d.dataset)); test accuracy \(best.map { "\(Fmt.meanPct($0.before)) → \(Fmt.pctStat($0.after))" } ?? "n/a") "
                    + "on \(mdEscape(d.networks)).")
            md.line()
            md.line(mdEscape(d.settingDescription))
            md.line()
            md.heading("Distilled data beside the real-image baselines")
            md.table(DistillationRow.columns, d.rows.map { $0.cells(escape: mdEscape) })
            md.line()
            for row in d.rows { md.line("- \(mdEscape(row.name)): \(mdEscape(row.description))") }
            for other in d.others { md.line("- \(mdEscape(other.label)): accuracy after \(Fmt.pctStat(other.accuracy))") }
            if let seconds = d.craftSeconds { md.line("- Distilling took \(Fmt.seconds(seconds)).") }
            md.line()
        case let .auditSummary(ranked):
            if let worst = ranked.first {
                let forced = ranked.filter { $0.pair.asr.mean >= Verdict.successASR }.count
                md.line("**Easiest pair: \(mdEscape(worst.forget)) → \(mdEscape(worst.target)), ASR \(Fmt.pct(worst.pair.asr.mean))**: "
                        + "\(forced) of \(ranked.count) audited pairs reach a mean held-out ASR of at least "
                        + "\(Fmt.pct(Verdict.successASR, digits: 0)).")
            } else {
                md.line("**No pairs audited.**")
            }
            md.line()
        case let .threatModel(facts):
            md.heading("Threat model")
            md.line(mdEscape(facts.summary))
            md.line()
            if let tm = facts.attack {
                md.line("- Attacker knowledge: **\(tm.knowledge.rawValue)**")
                md.line("- Forget class K: \(forget(tm)); target class T: \(target(tm))")
                md.line("- Poison: \(tm.poisonImages) images, \(tm.steps) step(s) × \(tm.epochs) epoch(s)")
            }
            md.line("- MITRE ATLAS: " + atlasWords(facts.atlas))
            md.line()
        case let .headline(headline):
            drawHeadline(headline, into: &md)
        case let .oracle(table):
            drawTable("Against the oracle", explanation: table.explanation, OracleTable.columns,
                      table.rows.map { OracleTable.cells($0, escape: mdEscape) }, into: &md)
        case let .poison(poison):
            md.heading(poison.heading)
            md.line("- File: `\(codeSpan(poison.file))` (\(poison.images) images)")
            md.line("- Learned step size(s): " + poison.learnedStepSizes.map(Fmt.num).joined(separator: ", "))
            if let grid = poison.gridPNG {
                md.line()
                md.line("![Poison images](\(linkTarget(grid)))")
            }
            md.line()
        case .charts:
            break
        case let .perClass(rows, set):
            md.heading("Per-class accuracy (\(mdEscape(set)) mean ± std)")
            md.table(["Class", "Name", "Before", "After", "Change"], rows.map { row in
                ["\(row.index)", mdEscape(row.name) + row.mark, statCell(row.before), statCell(row.after),
                 changeCell(row.before, row.after)]
            })
            md.line()
        case let .victims(victims):
            md.heading("Victims")
            md.table(["Set", "Id", "Role", "Seed", "Accuracy", "ASR", "Other-class accuracy", "Drop"], victims.map { set, v in
                [set, mdEscape(v.id), v.role.rawValue, "\(v.seed)",
                 "\(Fmt.pct(v.before.accuracy)) → \(Fmt.pct(v.after.accuracy))",
                 "\(Fmt.pct(v.before.asr)) → \(Fmt.pct(v.after.asr))",
                 "\(Fmt.pct(v.before.otherAccuracy)) → \(Fmt.pct(v.after.otherAccuracy))",
                 Fmt.pp(v.before.otherAccuracy - v.after.otherAccuracy)]
            })
            md.line()
        case let .baselines(table):
            drawBaselines(table, into: &md)
        case let .robustness(probes):
            md.heading("Robustness")
            md.table(["Probe", "Mean ± std", "Min", "Max", "n"], probes.map { probe, s in
                [mdEscape(probe), Fmt.num(s.mean) + " ± " + Fmt.num(s.std), Fmt.num(s.min), Fmt.num(s.max), "\(s.count)"]
            })
            md.line()
        case let .defenses(rows):
            md.heading("Defenses")
            md.line("The poison and its controls when the held-out victims deploy each defense around their update.")
            md.line()
            md.table(defenseColumns, rows.map { defenseCells($0, escape: mdEscape) })
            md.line()
            for row in rows.dropFirst() { md.line("- `\(row.defense)`: \(mdEscape(row.description))") }
            md.line()
        case let .matrix(matrix):
            drawMatrix(matrix, into: &md)
        case let .rankedPairs(ranked):
            md.heading("Pairs, easiest first")
            md.table(["K", "T", "ASR mean ± std", "Min", "Max", "Other-class accuracy drop"], ranked.map { p in
                [mdEscape(p.forget), mdEscape(p.target), Fmt.pctStat(p.pair.asr), Fmt.pct(p.pair.asr.min),
                 Fmt.pct(p.pair.asr.max), Fmt.ppStat(p.pair.otherAccuracyDrop)]
            })
            md.line()
        case let .attackerRange(range):
            drawTable("Gray-box, white-box and the oracle", explanation: AttackerRange.explanation, AttackerRange.columns,
                      range.rows.map { AttackerRange.cells($0, escape: mdEscape) }, into: &md)
        case let .reproduce(r):
            drawReproduction(r, into: &md)
        }
    }

    private func drawHeadline(_ headline: Headline, into md: inout MarkdownBuilder) {
        let heldout = headline.heldout
        md.heading("Headline (held-out victims, n = \(headline.heldoutCount))")
        md.line("The held-out victims were never used to craft the poison: these numbers measure transfer.")
        md.line()
        md.table(["Metric", "Before", "After", "Change"], headlineMetrics(heldout).map { name, before, after in
            [name, statCell(before), statCell(after), changeCell(before, after)]
        })
        md.line()
        md.line("- Held-out ASR after the step: mean \(Fmt.pctStat(heldout.after.asr)), "
                + "min \(minCell(heldout.after.asr)), max \(maxCell(heldout.after.asr)) "
                + "(before: \(Fmt.pctStat(heldout.before.asr))).")
        md.line("- Other-class accuracy drop (collateral damage): \(Fmt.ppStat(heldout.otherAccuracyDrop)), "
                + "worst victim \(heldout.otherAccuracyDrop.count == 0 ? "n/a" : Fmt.pp(heldout.otherAccuracyDrop.max)).")
        if let worst = headline.worstOtherClass {
            md.line("- Worst single other class: \(mdEscape(worst.name)), accuracy down \(Fmt.pp(worst.drop)) on average.")
        }
        for (label, s) in headline.others {
            md.line("- \(label): ASR \(Fmt.meanPct(s.before.asr)) → \(Fmt.pctStat(s.after.asr)) (min \(minCell(s.after.asr))), "
                    + "other-class accuracy \(Fmt.meanPct(s.before.otherAccuracy)) → \(Fmt.meanPct(s.after.otherAccuracy)).")
        }
        md.line()
    }

    private func drawBaselines(_ table: BaselineTable, into md: inout MarkdownBuilder) {
        md.heading("Baselines")
        if table.controls.isEmpty {
            md.line("No baselines were run.")
        } else {
            md.line("Controls scored like the attack; their step sizes were chosen on the crafting zoo only.")
            md.line()
            let attack = ["**amnesia (learned)**", "learned poison images and step size",
                          table.learnedStepSizes.map(Fmt.num).joined(separator: ", "),
                          Fmt.pctStat(table.attack.after.asr), Fmt.pctStat(table.attack.after.otherAccuracy),
                          Fmt.ppStat(table.attack.otherAccuracyDrop), "\(table.attackVictims)"]
            md.table(["Method", "Description", "Step size", "ASR after", "Other-class accuracy after", "Drop", "Victims"],
                     [attack] + table.controls.map { name, b in
                         [mdEscape(name), mdEscape(b.description), Fmt.num(b.stepSize),
                          Fmt.pctStat(b.summary.after.asr), Fmt.pctStat(b.summary.after.otherAccuracy),
                          Fmt.ppStat(b.summary.otherAccuracyDrop), "\(b.victims.count)"]
                     })
        }
        md.line()
    }

    /// Rows K, columns T, diagonal blank; each cell the held-out mean ASR with a shade block
    /// and the collateral drop.
    private func drawMatrix(_ matrix: VulnerabilityMatrix, into md: inout MarkdownBuilder) {
        md.heading(matrix.defense.map { "Vulnerability matrix under \(mdEscape($0))" } ?? "Vulnerability matrix")
        if let defense = matrix.defense { md.line("The held-out victims deploy the defense `\(defense)`.") }
        md.line("Rows: forgotten class K. Columns: target class T. Each cell: held-out mean ASR "
                + "(shade ░ < 25% ≤ ▒ < 50% ≤ ▓ < 75% ≤ █) and, in brackets, the mean change of "
                + "other-class accuracy in percentage points (negative = collateral damage); with an oracle, "
                + "the share of the oracle's ASR (×0.85 of oracle). · = not audited.")
        md.line()
        md.table(["K ↓ T →"] + matrix.names.map(mdEscape), matrix.names.enumerated().map { k, name in
            ["**\(mdEscape(name))**"] + matrix.names.indices.map { t in
                guard k != t else { return "" }
                guard let pair = matrix.cells[k][t] else { return "·" }
                return "\(shade(pair.asr.mean)) \(Fmt.pct(pair.asr.mean, digits: 0)) "
                    + "(\(signedChange(-pair.otherAccuracyDrop.mean)) pp)"
                    + (pair.oracle.map { " ×\(String(format: "%.2f", $0.meanASRRatio)) of oracle" } ?? "")
            }
        })
        md.line()
    }

    /// A section of one table under a paragraph saying what it means.
    private func drawTable(_ heading: String, explanation: String, _ columns: [String], _ rows: [[String]],
                           into md: inout MarkdownBuilder) {
        md.heading(heading)
        md.line(mdEscape(explanation))
        md.line()
        md.table(columns, rows)
        md.line()
    }

    private func drawReproduction(_ r: Reproduction, into md: inout MarkdownBuilder) {
        md.heading("Reproduce")
        md.line("- Seed: \(r.seed)")
        md.line("- amnesia version: \(mdEscape(r.amnesiaVersion))")
        md.line("- Created: \(mdEscape(r.created))")
        if let dataset = r.dataset {
            md.line("- Dataset: \(mdEscape(dataset.name)), normalization mean "
                    + dataset.mean.map(Fmt.num).joined(separator: ", ") + ", std "
                    + dataset.std.map(Fmt.num).joined(separator: ", "))
        }
        md.line()
        drawKeyValues("Config", r.config, columns: ["Key", "Value"], ifEmpty: "(empty)", into: &md)
        drawKeyValues("Timings", r.timings.mapValues(Fmt.seconds), columns: ["Phase", "Seconds"],
                      ifEmpty: "No timings recorded.", into: &md)
    }

    /// A "### heading" subsection with one row per key, in key order.
    private func drawKeyValues(_ heading: String, _ values: [String: String], columns: [String], ifEmpty: String,
                               into md: inout MarkdownBuilder) {
        md.line("### " + heading)
        md.line()
        if values.isEmpty {
            md.line(ifEmpty)
        } else {
            md.table(columns, values.keys.sorted().map { [mdEscape($0), mdEscape(values[$0] ?? "")] })
        }
        md.line()
    }

    // MARK: helpers

    private func forget(_ tm: ThreatModel) -> String { "\(tm.forgetClass) (\(mdEscape(tm.forgetName)))" }
    private func target(_ tm: ThreatModel) -> String { "\(tm.targetClass) (\(mdEscape(tm.targetName)))" }

    private func statCell(_ s: Stat) -> String {
        s.count == 0 ? "n/a" : "\(Fmt.pctStat(s)) (min \(Fmt.pct(s.min)), max \(Fmt.pct(s.max)))"
    }

    private func changeCell(_ before: Stat, _ after: Stat) -> String {
        guard before.count > 0, after.count > 0 else { return "n/a" }
        let delta = after.mean - before.mean
        return (delta >= 0 ? "+" : "−") + Fmt.pp(abs(delta))
    }

    private func minCell(_ s: Stat) -> String { s.count == 0 ? "n/a" : Fmt.pct(s.min) }
    private func maxCell(_ s: Stat) -> String { s.count == 0 ? "n/a" : Fmt.pct(s.max) }

    private func shade(_ x: Double) -> String {
        switch x {
        case ..<0.25: return "░"
        case ..<0.5: return "▒"
        case ..<0.75: return "▓"
        default: return "█"
        }
    }

    /// Text inside a backtick code span cannot be escaped, so backticks are replaced.
    private func codeSpan(_ text: String) -> String {
        text.replacingOccurrences(of: "`", with: "'").replacingOccurrences(of: "\n", with: " ")
    }

    /// A relative link target: percent-encode what would end or break the link.
    private func linkTarget(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "()<> ")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? "poison.png"
    }
}

/// Accumulates Markdown lines.
struct MarkdownBuilder {
    private(set) var text = ""

    mutating func line(_ s: String = "") {
        text += s + "\n"
    }

    /// "## text" and the blank line after it.
    mutating func heading(_ text: String) {
        line("## " + text)
        line()
    }

    /// A header row, its separator and the rows.
    mutating func table(_ columns: [String], _ rows: [[String]]) {
        row(columns)
        line("|" + String(repeating: "---|", count: columns.count))
        for cells in rows { row(cells) }
    }

    private mutating func row(_ cells: [String]) {
        line("| " + cells.joined(separator: " | ") + " |")
    }
}
