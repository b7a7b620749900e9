import Foundation
import Results

/// Number formatting shared by the renderers (POSIX decimal point, independent of locale).
enum Fmt {
    static func pct(_ x: Double, digits: Int = 1) -> String {
        String(format: "%.\(digits)f%%", x * 100)
    }

    /// A fraction difference in percentage points.
    static func pp(_ x: Double) -> String {
        String(format: "%.1f pp", x * 100)
    }

    static func pctStat(_ s: Stat) -> String {
        s.count == 0 ? "n/a" : "\(pct(s.mean)) ± \(String(format: "%.1f", s.std * 100))"
    }

    static func ppStat(_ s: Stat) -> String {
        s.count == 0 ? "n/a" : "\(String(format: "%.1f", s.mean * 100)) ± \(String(format: "%.1f", s.std * 100)) pp"
    }

    static func meanPct(_ s: Stat) -> String {
        s.count == 0 ? "n/a" : pct(s.mean)
    }

    static func num(_ x: Double) -> String {
        String(format: "%.4g", x)
    }

    static func seconds(_ x: Double) -> String {
        String(format: "%.1f s", x)
    }
}

/// A fraction change in percentage points with an explicit sign and no unit: "+1.5", "−2.0".
func signedChange(_ x: Double) -> String {
    let rounded = (x * 1000).rounded() / 10
    return (rounded < 0 ? "−" : "+") + String(format: "%.1f", abs(rounded))
}

/// Escapes text for HTML element content and quoted attribute values.
func htmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for ch in text {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(ch)
        }
    }
    return out
}

/// Escapes text for a Markdown table cell or paragraph: no raw HTML, no accidental emphasis,
/// links or column breaks, and no line breaks that would end the table.
func mdEscape(_ text: String) -> String {
    var out = ""
    for ch in text {
        switch ch {
        case "\\", "`", "*", "_", "[", "]", "<", ">", "|", "#":
            out.append("\\")
            out.append(ch)
        case "\n", "\r":
            out.append(" ")
        default:
            out.append(ch)
        }
    }
    return out
}

/// Plain words for the ATLAS ids (unknown ids are listed as they are).
func atlasWords(_ ids: [String]) -> String {
    let names = ["AML.T0020": "Poison Training Data", "AML.T0018.000": "Poison ML Model"]
    return ids.map { id in names[id].map { "\(id) (\($0))" } ?? id }.joined(separator: ", ")
}

/// The rows of every format's headline table: metric name, before, after.
func headlineMetrics(_ s: VictimSetSummary) -> [(name: String, before: Stat, after: Stat)] {
    [
        ("ASR (K predicted as T)", s.before.asr, s.after.asr),
        ("Other-class accuracy", s.before.otherAccuracy, s.after.otherAccuracy),
        ("Accuracy on K→T labels", s.before.targetAccuracy, s.after.targetAccuracy),
        ("Overall accuracy", s.before.accuracy, s.after.accuracy),
    ]
}

/// The defense table's columns, and one row's cells (names still to be escaped by the format).
let defenseColumns = ["Defense", "Victims updated", "ASR after", "Min ASR", "Other-class drop", "Worst other class", "Best control ASR",
                      "Detector TPR / FPR / F1"]

func defenseCells(_ row: DefenseRow, escape: (String) -> String) -> [String] {
    let s = row.summary
    return [escape(row.defense), "\(row.accepted)/\(row.victims)", Fmt.pctStat(s.after.asr),
            s.after.asr.count == 0 ? "n/a" : Fmt.pct(s.after.asr.min), Fmt.ppStat(s.otherAccuracyDrop),
            row.worstClass.map { escape($0) + " " + Fmt.pp(s.worstOtherClassDrop?.drop ?? 0) } ?? "n/a",
            row.bestControl.map { escape($0.name) + " " + Fmt.pctStat($0.asr) } ?? "n/a",
            row.detection.map { "\(Fmt.pct($0.tpr.mean)) / \(Fmt.pct($0.fpr.mean)) / \(String(format: "%.2f", $0.f1.mean))" } ?? "–"]
}

/// A set's standing against its oracle in words: "0.85 of the oracle's ASR 84.1%, collateral
/// +1.2 pp beyond the oracle's, 0 destroyed".
func oracleWords(_ c: OracleComparison) -> String {
    String(format: "%.2f", c.meanASRRatio) + " of the oracle's ASR \(Fmt.meanPct(c.oracleASR)), collateral "
        + "\(signedChange(c.excessOtherDrop.mean)) pp beyond the oracle's, \(c.destroyed.count) destroyed"
}
