import Foundation
import Results

/// Renders reports as Markdown: readable as plain text, in a terminal or on a code host.
///
/// All names coming from data (class names, victim ids, config) are escaped, so a hostile
/// class name cannot inject HTML or break a table.
public enum MarkdownReport {
    /// Renders an attack report: verdict, threat model, headline numbers, per-class accuracy,
    /// per-victim results, baselines, poison, robustness, config, timings and seed.
    public static func render(_ report: AttackReport) -> String {
        var md = MarkdownBuilder()
        let heldout = report.results.heldout.summary
        let tm = report.threatModel
        let k = "\(tm.forgetClass) (\(mdEscape(tm.forgetName)))"
        let t = "\(tm.targetClass) (\(mdEscape(tm.targetName)))"

        md.line("# Amnesia attack report: \(mdEscape(report.run.name))")
        md.line()
        md.line("**\(Verdict(heldout).label)**: forcing class \(k) → \(t) on \(mdEscape(report.dataset.name)); "
                + "held-out ASR \(Fmt.meanPct(heldout.before.asr)) → \(Fmt.meanPct(heldout.after.asr)), "
                + "other-class accuracy \(Fmt.meanPct(heldout.before.otherAccuracy)) → "
                + "\(Fmt.meanPct(heldout.after.otherAccuracy)).")
        md.line()

        md.line("## Threat model")
        md.line()
        md.line(mdEscape(tm.summary))
        md.line()
        md.line("- Attacker knowledge: **\(tm.knowledge.rawValue)**")
        md.line("- Forget class K: \(k); target class T: \(t)")
        md.line("- Poison: \(tm.poisonImages) images, \(tm.steps) step(s) × \(tm.epochs) epoch(s)")
        md.line("- MITRE ATLAS: " + atlasWords(tm.atlas))
        md.line()

        md.line("## Headline (held-out victims, n = \(report.results.heldout.victims.count))")
        md.line()
        md.line("The held-out victims were never used to craft the poison: these numbers measure transfer.")
        md.line()
        md.line("| Metric | Before | After | Change |")
        md.line("|---|---|---|---|")
        for (name, before, after) in [
            ("ASR (K predicted as T)", heldout.before.asr, heldout.after.asr),
            ("Other-class accuracy", heldout.before.otherAccuracy, heldout.after.otherAccuracy),
            ("Accuracy on K→T labels", heldout.before.targetAccuracy, heldout.after.targetAccuracy),
            ("Overall accuracy", heldout.before.accuracy, heldout.after.accuracy),
        ] {
            md.row([name, statCell(before), statCell(after), changeCell(before, after)])
        }
        md.line()
        md.line("- Held-out ASR after the step: mean \(Fmt.pctStat(heldout.after.asr)), "
                + "min \(minCell(heldout.after.asr)), max \(maxCell(heldout.after.asr)) "
                + "(before: \(Fmt.pctStat(heldout.before.asr))).")
        md.line("- Other-class accuracy drop (collateral damage): \(Fmt.ppStat(heldout.otherAccuracyDrop)), "
                + "worst victim \(heldout.otherAccuracyDrop.count == 0 ? "n/a" : Fmt.pp(heldout.otherAccuracyDrop.max)).")
        if let known = report.results.known {
            let s = known.summary
            md.line("- Known (white-box) victim: ASR \(Fmt.meanPct(s.before.asr)) → \(Fmt.meanPct(s.after.asr)), "
                    + "other-class accuracy \(Fmt.meanPct(s.before.otherAccuracy)) → \(Fmt.meanPct(s.after.otherAccuracy)).")
        }
        if let crafting = report.results.crafting {
            let s = crafting.summary
            md.line("- Crafting zoo (seen while crafting, optimistic): ASR \(Fmt.meanPct(s.before.asr)) → "
                    + "\(Fmt.meanPct(s.after.asr)), other-class accuracy \(Fmt.meanPct(s.before.otherAccuracy)) → "
                    + "\(Fmt.meanPct(s.after.otherAccuracy)).")
        }
        md.line()

        md.line("## Per-class accuracy (held-out mean ± std)")
        md.line()
        md.line("| Class | Name | Before | After | Change |")
        md.line("|---|---|---|---|---|")
        for c in 0..<report.classCount {
            let before = c < heldout.before.perClass.count ? heldout.before.perClass[c] : Stat([])
            let after = c < heldout.after.perClass.count ? heldout.after.perClass[c] : Stat([])
            var name = mdEscape(report.className(c))
            if c == tm.forgetClass { name += " (K)" }
            if c == tm.targetClass { name += " (T)" }
            md.row(["\(c)", name, statCell(before), statCell(after), changeCell(before, after)])
        }
        md.line()

        md.line("## Victims")
        md.line()
        md.line("| Set | Id | Role | Seed | Accuracy | ASR | Other-class accuracy | Drop |")
        md.line("|---|---|---|---|---|---|---|---|")
        for (setName, set) in report.results.namedSets {
            for v in set.victims {
                md.row([setName, mdEscape(v.id), v.role.rawValue, "\(v.seed)",
                        "\(Fmt.pct(v.before.accuracy)) → \(Fmt.pct(v.after.accuracy))",
                        "\(Fmt.pct(v.before.asr)) → \(Fmt.pct(v.after.asr))",
                        "\(Fmt.pct(v.before.otherAccuracy)) → \(Fmt.pct(v.after.otherAccuracy))",
                        Fmt.pp(v.before.otherAccuracy - v.after.otherAccuracy)])
            }
        }
        md.line()

        md.line("## Baselines")
        md.line()
        if report.baselines.isEmpty {
            md.line("No baselines were run.")
        } else {
            md.line("Controls scored like the attack; their step sizes were chosen on the crafting zoo only.")
            md.line()
            md.line("| Method | Description | Step size | ASR after | Other-class accuracy after | Drop | Victims |")
            md.line("|---|---|---|---|---|---|---|")
            md.row(["**amnesia (learned)**", "learned poison images and step size",
                    report.poison.learnedStepSizes.map(Fmt.num).joined(separator: ", "),
                    Fmt.pctStat(heldout.after.asr), Fmt.pctStat(heldout.after.otherAccuracy),
                    Fmt.ppStat(heldout.otherAccuracyDrop), "\(report.results.heldout.victims.count)"])
            for (name, b) in report.sortedBaselines {
                md.row([mdEscape(name), mdEscape(b.description), Fmt.num(b.stepSize),
                        Fmt.pctStat(b.summary.after.asr), Fmt.pctStat(b.summary.after.otherAccuracy),
                        Fmt.ppStat(b.summary.otherAccuracyDrop), "\(b.victims.count)"])
            }
        }
        md.line()

        md.line("## Poison")
        md.line()
        md.line("- File: `\(codeSpan(report.poison.file))` (\(report.poison.images) images)")
        md.line("- Learned step size(s): " + report.poison.learnedStepSizes.map(Fmt.num).joined(separator: ", "))
        if let grid = report.poison.gridPNG {
            md.line()
            md.line("![Poison images](\(linkTarget(grid)))")
        }
        md.line()

        if let robustness = report.robustness, !robustness.isEmpty {
            md.line("## Robustness")
            md.line()
            md.line("| Probe | Mean ± std | Min | Max | n |")
            md.line("|---|---|---|---|---|")
            for key in robustness.keys.sorted() {
                guard let s = robustness[key] else { continue }
                md.row([mdEscape(key), Fmt.num(s.mean) + " ± " + Fmt.num(s.std),
                        Fmt.num(s.min), Fmt.num(s.max), "\(s.count)"])
            }
            md.line()
        }

        md.line("## Reproduce")
        md.line()
        md.line("- Seed: \(report.run.seed)")
        md.line("- amnesia version: \(mdEscape(report.run.amnesiaVersion))")
        md.line("- Created: \(mdEscape(report.run.created))")
        md.line("- Dataset: \(mdEscape(report.dataset.name)), normalization mean "
                + report.normalization.mean.map { Fmt.num(Double($0)) }.joined(separator: ", ") + ", std "
                + report.normalization.std.map { Fmt.num(Double($0)) }.joined(separator: ", "))
        md.line()
        md.line("### Config")
        md.line()
        appendKeyValues(&md, report.config, header: ("Key", "Value"))
        md.line()
        md.line("### Timings")
        md.line()
        if report.run.timingsSeconds.isEmpty {
            md.line("No timings recorded.")
        } else {
            md.line("| Phase | Seconds |")
            md.line("|---|---|")
            for key in report.run.timingsSeconds.keys.sorted() {
                md.row([mdEscape(key), Fmt.seconds(report.run.timingsSeconds[key] ?? 0)])
            }
        }
        md.line()
        md.line("_Schema \(mdEscape(report.schema)); rendered from report.json._")
        return md.text
    }

    /// Renders an audit: the vulnerability matrix (rows K, columns T, diagonal blank), each
    /// cell showing the held-out mean ASR with a shade block and the collateral drop.
    public static func render(_ audit: AuditReport) -> String {
        var md = MarkdownBuilder()
        let n = audit.matrixSize
        md.line("# Amnesia robustness audit: \(mdEscape(audit.run.name))")
        md.line()
        md.line("## Threat model")
        md.line()
        md.line(auditThreatWords)
        md.line()
        md.line("- MITRE ATLAS: " + atlasWords(ThreatModel.atlasTechniques))
        md.line()
        md.line("## Vulnerability matrix")
        md.line()
        md.line("Rows: forgotten class K. Columns: target class T. Each cell: held-out mean ASR "
                + "(shade ░ < 25% ≤ ▒ < 50% ≤ ▓ < 75% ≤ █) and, in brackets, the mean change of "
                + "other-class accuracy in percentage points (negative = collateral damage). · = not audited.")
        md.line()
        md.row(["K ↓ T →"] + (0..<n).map { mdEscape(audit.className($0)) })
        md.line("|" + String(repeating: "---|", count: n + 1))
        for k in 0..<n {
            var cells = ["**\(mdEscape(audit.className(k)))**"]
            for t in 0..<n {
                if k == t {
                    cells.append("")
                } else if let pair = audit.pair(forget: k, target: t), pair.asr.count > 0 {
                    cells.append("\(shade(pair.asr.mean)) \(Fmt.pct(pair.asr.mean, digits: 0)) "
                                 + "(\(signedChange(-pair.otherAccuracyDrop.mean)) pp)")
                } else {
                    cells.append("·")
                }
            }
            md.row(cells)
        }
        md.line()
        let ranked = audit.pairs.filter { $0.asr.count > 0 }.sorted { $0.asr.mean > $1.asr.mean }
        if !ranked.isEmpty {
            md.line("## Pairs, easiest first")
            md.line()
            md.line("| K | T | ASR mean ± std | Min | Max | Other-class accuracy drop |")
            md.line("|---|---|---|---|---|---|")
            for p in ranked {
                md.row([mdEscape(audit.className(p.forget)), mdEscape(audit.className(p.target)),
                        Fmt.pctStat(p.asr), Fmt.pct(p.asr.min), Fmt.pct(p.asr.max), Fmt.ppStat(p.otherAccuracyDrop)])
            }
            md.line()
        }
        md.line("## Reproduce")
        md.line()
        md.line("- Seed: \(audit.run.seed)")
        md.line("- amnesia version: \(mdEscape(audit.run.amnesiaVersion))")
        md.line("- Created: \(mdEscape(audit.run.created))")
        md.line()
        appendKeyValues(&md, audit.config, header: ("Key", "Value"))
        md.line()
        md.line("_Schema \(mdEscape(audit.schema))._")
        return md.text
    }

    // MARK: helpers

    private static func statCell(_ s: Stat) -> String {
        s.count == 0 ? "n/a" : "\(Fmt.pctStat(s)) (min \(Fmt.pct(s.min)), max \(Fmt.pct(s.max)))"
    }

    private static func changeCell(_ before: Stat, _ after: Stat) -> String {
        guard before.count > 0, after.count > 0 else { return "n/a" }
        let delta = after.mean - before.mean
        return (delta >= 0 ? "+" : "−") + Fmt.pp(abs(delta))
    }

    private static func minCell(_ s: Stat) -> String { s.count == 0 ? "n/a" : Fmt.pct(s.min) }
    private static func maxCell(_ s: Stat) -> String { s.count == 0 ? "n/a" : Fmt.pct(s.max) }

    private static func shade(_ x: Double) -> String {
        switch x {
        case ..<0.25: return "░"
        case ..<0.5: return "▒"
        case ..<0.75: return "▓"
        default: return "█"
        }
    }

    /// Text inside a backtick code span cannot be escaped, so backticks are replaced.
    private static func codeSpan(_ text: String) -> String {
        text.replacingOccurrences(of: "`", with: "'").replacingOccurrences(of: "\n", with: " ")
    }

    /// A relative link target: percent-encode what would end or break the link.
    private static func linkTarget(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "()<> ")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? "poison.png"
    }

    private static func appendKeyValues(_ md: inout MarkdownBuilder, _ values: [String: String],
                                        header: (String, String)) {
        if values.isEmpty {
            md.line("(empty)")
            return
        }
        md.line("| \(header.0) | \(header.1) |")
        md.line("|---|---|")
        for key in values.keys.sorted() {
            md.row([mdEscape(key), mdEscape(values[key] ?? "")])
        }
    }
}

/// Plain words for the ATLAS ids (unknown ids are listed as they are).
func atlasWords(_ ids: [String]) -> String {
    let names = ["AML.T0020": "Poison Training Data", "AML.T0018.000": "Poison ML Model"]
    return ids.map { id in names[id].map { "\(id) (\($0))" } ?? id }.joined(separator: ", ")
}

/// The threat model of an audit, in plain words.
let auditThreatWords = "For every audited pair K → T, an attacker supplies synthetic images and a step size "
    + "so that one gradient-descent step on them (e.g. a fine-tuning update) makes the classifier predict "
    + "class K as class T while keeping the other classes. The attacker knows the weight distribution "
    + "(architecture, data, training recipe) but not the exact weights: the poison is crafted on a crafting "
    + "zoo and scored on held-out victims it never saw. A high ASR with a small drop means the pair is "
    + "easy to force quietly."

/// Accumulates Markdown lines.
struct MarkdownBuilder {
    private(set) var text = ""

    mutating func line(_ s: String = "") {
        text += s + "\n"
    }

    mutating func row(_ cells: [String]) {
        line("| " + cells.joined(separator: " | ") + " |")
    }
}
