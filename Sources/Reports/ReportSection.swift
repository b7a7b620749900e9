import Foundation
import Results

/// One part of a human-readable report, with the numbers it shows already picked out of the
/// report model (sorted, named, marked), so every format draws the same rows.
///
/// A new section is a new case here, its place in `ReportPage`'s list, and one `case` in
/// each `ReportFormat` (the compiler lists the formats that lack it).
public enum ReportSection: Sendable {
    /// The verdict and the held-out headline numbers of an attack.
    case attackSummary(AttackSummary)
    /// The setting and test accuracy of a distillation beside its real-image baselines.
    case distillation(DistillationSummary)
    /// The easiest pairs of an audit (pairs with data, highest mean ASR first).
    case auditSummary(ranked: [RankedPair])
    /// The threat model in plain words, with the attack's parameters when there is one attack.
    case threatModel(ThreatFacts)
    /// Held-out before/after statistics, and the other victim sets beside them.
    case headline(Headline)
    /// Every victim set, control and defense read against the pair's oracle.
    case oracle(OracleTable)
    /// The poison file and its images.
    case poison(PoisonFigures)
    /// Charts of the held-out results (formats without graphics leave them out).
    case charts(AttackCharts)
    /// Accuracy of every class before and after, on the networks `set` names ("held-out").
    case perClass([ClassRow], set: String)
    /// Every victim of every set, before and after.
    case victims([(set: String, victim: VictimResult)])
    /// The attack beside its controls.
    case baselines(BaselineTable)
    /// The robustness probes, by name.
    case robustness([(probe: String, stat: Stat)])
    /// The poison and its best control under each defense, beside the undefended update.
    case defenses([DefenseRow])
    /// An audit's K×T matrix.
    case matrix(VulnerabilityMatrix)
    /// An audit's pairs, easiest first.
    case rankedPairs([RankedPair])
    /// An audit's pairs from the attacker without the weights to the one with them to the oracle.
    case attackerRange(AttackerRange)
    /// What it takes to reproduce the run.
    case reproduce(Reproduction)
}

/// The top of an attack report.
public struct AttackSummary: Sendable {
    /// The judgement of the held-out numbers.
    public var verdict: Verdict
    public var threatModel: ThreatModel
    /// The dataset's name.
    public var dataset: String
    public var heldout: VictimSetSummary
    /// Number of held-out victims.
    public var heldoutCount: Int
}

/// The top of a distillation report.
public struct DistillationSummary: Sendable {
    public var setting: String
    public var settingDescription: String
    public var dataset: String
    /// What the headline networks are, e.g. "24 held-out initializations".
    public var networks: String
    public var images: Int
    public var steps: Int
    public var epochs: Int
    /// The distilled data first, then each baseline in name order.
    public var rows: [DistillationRow]
    /// Other network sets (held-out ones for a fixed setting, the crafting ones).
    public var others: [(label: String, accuracy: Stat)]
    public var craftSeconds: Double?
}

/// One way of training the headline networks: its name, step sizes and test accuracy.
public struct DistillationRow: Sendable {
    public var name: String
    public var description: String
    public var stepSizes: [Double]
    public var before: Stat
    public var after: Stat

    /// The columns every format shows, and this row's cells (the name still to be escaped).
    public static let columns = ["Training data", "Step size(s)", "Accuracy before", "Accuracy after (mean ± std)", "Min", "Max"]
    func cells(escape: (String) -> String) -> [String] {
        [escape(name), stepSizes.map(Fmt.num).joined(separator: ", "), Fmt.pctStat(before), Fmt.pctStat(after),
         after.count == 0 ? "n/a" : Fmt.pct(after.min), after.count == 0 ? "n/a" : Fmt.pct(after.max)]
    }
}

/// The poison, its controls and its defended forms, each as a share of what the oracle
/// (the victims fine-tuned on the whole training set with K relabelled T) reached on the same
/// victims, and with the collateral beyond the oracle's.
public struct OracleTable: Sendable {
    /// The oracle's recipe in words (nil when the report does not say).
    public var recipe: String?
    public var rows: [(name: String, comparison: OracleComparison)]

    /// The columns every format shows.
    public static let columns = ["Update", "n", "ASR (destroyed = 0)", "Oracle ASR", "ASR / oracle", "Min ratio",
                                 "Collateral beyond oracle", "Worst class beyond oracle", "Destroyed"]

    /// The cells of `row` (its name still to be escaped).
    static func cells(_ row: (name: String, comparison: OracleComparison), escape: (String) -> String) -> [String] {
        let c = row.comparison
        return [escape(row.name), "\(c.keptASR.count)", Fmt.pctStat(c.keptASR), Fmt.pctStat(c.oracleASR),
                c.asrRatio.count == 0 ? "n/a" : String(format: "%.2f", c.meanASRRatio),
                c.asrRatio.count == 0 ? "n/a" : String(format: "%.2f", c.asrRatio.min),
                Fmt.ppStat(c.excessOtherDrop), c.excessWorstClassDrop.map(Fmt.pp) ?? "n/a", "\(c.destroyed.count)"]
    }

    /// What the table means, in one paragraph.
    var explanation: String {
        "The oracle is each victim fine-tuned on the whole training set with K relabelled T"
            + (recipe.map { " (\($0))" } ?? "") + ": the most poisoning can do to it. "
            + "ASR / oracle is the mean ASR over the oracle's mean ASR; a victim whose other classes fall more than "
            + "\(Fmt.pp(OracleComparison.destructionMargin)) beyond its oracle's is destroyed, not fooled, and its ASR counts as 0."
    }
}

/// The threat model: the paragraph, the attack it describes (nil for an audit of many
/// attacks) and the MITRE ATLAS techniques.
public struct ThreatFacts: Sendable {
    public var summary: String
    public var attack: ThreatModel?
    public var learnedStepSizes: [Double]
    public var atlas: [String]
}

/// The headline: held-out numbers first, then the other sets under their plain names.
public struct Headline: Sendable {
    public var heldout: VictimSetSummary
    public var heldoutCount: Int
    /// The other class that lost most accuracy on the held-out victims, by name.
    public var worstOtherClass: (name: String, drop: Double)?
    public var others: [(label: String, summary: VictimSetSummary)]
}

/// The poison file and the PNGs to show, the poison grid first.
public struct PoisonFigures: Sendable {
    /// "Poison", or "Distilled data" in a distillation report.
    public var heading = "Poison"
    public var file: String
    public var images: Int
    public var learnedStepSizes: [Double]
    public var gridPNG: String?
    /// The images by file name; a format shows what it can and says what it left out.
    public var figures: [(name: String, png: Data)]
}

/// What the charts draw.
public struct AttackCharts: Sendable {
    public var classes: [ClassRow]
    public var heldout: VictimSetResult
    /// The held-out victims' mean confusion matrix after the step (nil without victims).
    public var meanConfusion: [[Double]]?
    public var baselines: BaselineTable
}

/// One class of the per-class table: its display name carries (K) or (T).
public struct ClassRow: Sendable {
    public var index: Int
    public var name: String
    /// " (K)", " (T)" or "".
    public var mark: String
    public var before: Stat
    public var after: Stat
}

/// The learned poison's row and the controls' rows, in name order.
public struct BaselineTable: Sendable {
    public var learnedStepSizes: [Double]
    public var attack: VictimSetSummary
    public var attackVictims: Int
    public var controls: [(name: String, result: BaselineResult)]
}

/// An audited pair with its class names.
public struct RankedPair: Sendable {
    public var forget: String
    public var target: String
    public var pair: AuditPair
}

/// Each audited pair three ways, on one scale: the gray-box poison (crafted on victims
/// trained with the model's recipe, without its weights), the white-box one (crafted on the
/// model's own weights) and the oracle (the model fine-tuned on the whole training set with
/// K relabelled T), so a reader sees how far each attacker gets of what poisoning can do.
public struct AttackerRange: Sendable {
    /// The pairs, easiest (gray-box) first.
    public var rows: [RankedPair]

    /// The columns every format shows.
    public static let columns = ["K", "T", "Gray-box: knows only the recipe", "White-box: crafted on your weights",
                                 "Oracle: unlimited poisoning", "Other-class drop (gray / white / oracle)"]

    /// The cells of `row` (class names still to be escaped).
    static func cells(_ row: RankedPair, escape: (String) -> String) -> [String] {
        let pair = row.pair
        let white = pair.whiteBox
        let oracleDrop = pair.oracle.map { Fmt.pp($0.oracleOtherDrop.mean) } ?? "n/a"
        return [escape(row.forget), escape(row.target), ratioCell(pair.asr, pair.oracle),
                white.map { ratioCell($0.asr, $0.oracle) } ?? "n/a",
                pair.oracle.map { Fmt.meanPct($0.oracleASR) } ?? "n/a",
                "\(Fmt.pp(pair.otherAccuracyDrop.mean)) / \(white.map { Fmt.pp($0.otherAccuracyDrop.mean) } ?? "n/a") / \(oracleDrop)"]
    }

    /// Mean ASR, its share of the oracle's (destroyed victims count as 0) and how many were destroyed.
    private static func ratioCell(_ asr: Stat, _ oracle: OracleComparison?) -> String {
        guard asr.count > 0 else { return "n/a" }
        guard let oracle else { return Fmt.pct(asr.mean) }
        let ratio = oracle.asrRatio.count == 0 ? "n/a" : String(format: "%.2f", oracle.meanASRRatio)
        return "\(Fmt.pct(asr.mean)) (×\(ratio) of oracle)" + (oracle.destroyed.isEmpty ? "" : ", \(oracle.destroyed.count) destroyed")
    }

    /// What the table means, in one paragraph.
    static let explanation = "The same pair three ways on the same held-out model. Gray-box: the poison crafted on "
        + "victims of the model's architecture trained with its recipe (the zoo.training keys in Config), never on its "
        + "weights: an attacker who knows only how it was trained. White-box: the poison crafted on the model's own "
        + "weights, the same budget: an attacker who has them. Oracle: the model fine-tuned on the whole training set "
        + "with K relabelled T, the most any poisoning can do. × of oracle is the mean ASR over the oracle's mean ASR; "
        + "a model whose other classes fall more than \(Fmt.pp(OracleComparison.destructionMargin)) beyond its oracle's "
        + "is destroyed, not fooled, and counts as 0."
}

/// The audit matrix: `cells[k][t]` is the pair K→T when it was audited with data.
public struct VulnerabilityMatrix: Sendable {
    public var names: [String]
    public var cells: [[AuditPair?]]
    /// The defense the held-out victims deployed (nil: the undefended matrix).
    public var defense: String? = nil
}

/// Seed, version, date, dataset and the flattened config and timings.
public struct Reproduction: Sendable {
    public var seed: UInt64
    public var amnesiaVersion: String
    public var created: String
    /// The dataset and its normalization, as "name", mean, std (nil for an audit).
    public var dataset: (name: String, mean: [Double], std: [Double])?
    public var config: [String: String]
    public var timings: [String: Double]
}

/// One defense in the defense table: the poison under it (and undefended, in the first
/// row), the worst other class by name, and the strongest control under the same defense.
public struct DefenseRow: Sendable {
    public var defense: String
    public var description: String
    public var accepted: Int
    public var victims: Int
    public var summary: VictimSetSummary
    public var worstClass: String?
    public var bestControl: (name: String, asr: Stat)?
    /// A detector's rates on poison vs clean images (nil for other defenses).
    public var detection: DetectionReport?
}
