import Foundation

/// The one-line judgement at the top of every human-readable report.
///
/// Judged on held-out victims only (the honest numbers), with fixed thresholds so that two
/// reports with the same verdict mean the same thing:
/// - `effective`: mean ASR after ≥ `successASR` and mean other-class accuracy drop ≤ `maxCollateralDrop`;
/// - `damaging`: mean ASR after ≥ `partialASR` but the drop exceeds `maxCollateralDrop`;
/// - `partial`: mean ASR after ≥ `partialASR` with a small drop;
/// - `ineffective`: mean ASR after < `partialASR`;
/// - `noData`: no held-out victim was evaluated.
public enum Verdict: String, Sendable, CaseIterable {
    /// K is forced to T on held-out victims and the other classes survive.
    case effective
    /// K is (at least partly) forced to T, but other classes lose accuracy.
    case damaging
    /// K is partly forced to T without notable collateral damage.
    case partial
    /// The poison barely moves K to T.
    case ineffective
    /// Nothing to judge: no held-out victim.
    case noData = "no_data"

    /// Mean ASR at or above which the attack counts as a success.
    public static let successASR = 0.8
    /// Mean ASR at or above which the attack counts as partly working.
    public static let partialASR = 0.2
    /// Largest mean other-class accuracy drop (a fraction, 0.05 = 5 points) still called "no collateral damage".
    public static let maxCollateralDrop = 0.05

    /// Judges a held-out summary.
    public init(_ heldout: VictimSetSummary) {
        let asr = heldout.after.asr
        let drop = heldout.otherAccuracyDrop.mean
        if asr.count == 0 {
            self = .noData
        } else if asr.mean >= Verdict.successASR && drop <= Verdict.maxCollateralDrop {
            self = .effective
        } else if asr.mean >= Verdict.partialASR && drop > Verdict.maxCollateralDrop {
            self = .damaging
        } else if asr.mean >= Verdict.partialASR {
            self = .partial
        } else {
            self = .ineffective
        }
    }

    /// Short label, e.g. "Attack effective".
    public var label: String {
        switch self {
        case .effective: return "Attack effective"
        case .damaging: return "Attack works but causes collateral damage"
        case .partial: return "Attack partly effective"
        case .ineffective: return "Attack ineffective"
        case .noData: return "No held-out victims evaluated"
        }
    }
}

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

extension AttackReport {
    /// Name of class `c`, falling back to its number.
    func className(_ c: Int) -> String {
        c >= 0 && c < dataset.classNames.count ? dataset.classNames[c] : "class \(c)"
    }

    /// Number of classes seen anywhere in the report.
    var classCount: Int {
        let fromResults = results.namedSets.flatMap { $0.set.victims }
            .map { Swift.max($0.before.perClass.count, $0.after.perClass.count) }.max() ?? 0
        return Swift.max(dataset.classNames.count, fromResults)
    }

    /// Baselines in a stable (sorted) order.
    var sortedBaselines: [(name: String, result: BaselineResult)] {
        baselines.keys.sorted().compactMap { key in baselines[key].map { (key, $0) } }
    }

    /// Mean after-step confusion matrix over the held-out victims (nil if there are none).
    var meanHeldoutConfusion: [[Double]]? {
        let victims = results.heldout.victims
        guard !victims.isEmpty else { return nil }
        let n = classCount
        var sum = Array(repeating: Array(repeating: 0.0, count: n), count: n)
        for victim in victims {
            for (r, row) in victim.after.confusion.enumerated() where r < n {
                for (c, count) in row.enumerated() where c < n {
                    sum[r][c] += Double(count)
                }
            }
        }
        let scale = 1 / Double(victims.count)
        return sum.map { $0.map { $0 * scale } }
    }
}
