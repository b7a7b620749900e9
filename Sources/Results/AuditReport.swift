import Foundation

/// One K→T pair of a robustness audit, summarized over the held-out victims.
public struct AuditPair: Codable, Equatable, Sendable {
    /// Class K to forget.
    public var forget: Int
    /// Class T it should become.
    public var target: Int
    /// Attack success rate after the step over held-out victims.
    public var asr: Stat
    /// Collateral damage: other-class accuracy before minus after, over held-out victims.
    public var otherAccuracyDrop: Stat
    /// The same poison when the held-out victims deploy each defense of the audit
    /// (`audit --defense`), in the order given; nil without defenses.
    public var defenses: [AuditDefense]?
    /// The held-out victims read against the pair's oracle (nil: no oracle was run).
    public var oracle: OracleComparison?
    /// The white-box bound: each held-out victim's own poison, crafted on its weights (nil:
    /// the audit did not craft one). Between the gray-box cell and the oracle it says how
    /// much of the gap is the attacker not having the weights.
    public var whiteBox: AuditWhiteBox?

    enum CodingKeys: String, CodingKey {
        case forget, target, asr
        case otherAccuracyDrop = "other_accuracy_drop"
        case defenses, oracle
        case whiteBox = "white_box"
    }

    /// Memberwise initializer.
    public init(forget: Int, target: Int, asr: Stat, otherAccuracyDrop: Stat, defenses: [AuditDefense]? = nil,
                oracle: OracleComparison? = nil, whiteBox: AuditWhiteBox? = nil) {
        self.forget = forget
        self.target = target
        self.asr = asr
        self.otherAccuracyDrop = otherAccuracyDrop
        self.defenses = defenses
        self.oracle = oracle
        self.whiteBox = whiteBox
    }

    /// The pair as `summary` of its held-out victims reads (under `defenses`).
    public init(forget: Int, target: Int, summary: VictimSetSummary, defenses: [AuditDefense]? = nil,
                whiteBox: AuditWhiteBox? = nil) {
        self.init(forget: forget, target: target, asr: summary.after.asr, otherAccuracyDrop: summary.otherAccuracyDrop,
                  defenses: defenses, oracle: summary.oracle, whiteBox: whiteBox)
    }

    /// This pair as the defense `key` left it (nil when it was not scored under it).
    public func defended(_ key: String) -> AuditPair? {
        defenses?.first { $0.key == key }.map {
            AuditPair(forget: forget, target: target, asr: $0.asr, otherAccuracyDrop: $0.otherAccuracyDrop, oracle: $0.oracle)
        }
    }
}

/// One audited pair under one defense: held-out ASR and collateral with the defense on.
public struct AuditDefense: Codable, Equatable, Sendable {
    /// The defense's key, e.g. `dilution:clean=1000`.
    public var key: String
    public var asr: Stat
    public var otherAccuracyDrop: Stat
    /// The defended held-out victims read against the pair's (undefended) oracle.
    public var oracle: OracleComparison?

    enum CodingKeys: String, CodingKey {
        case key, asr
        case otherAccuracyDrop = "other_accuracy_drop"
        case oracle
    }

    public init(key: String, asr: Stat, otherAccuracyDrop: Stat, oracle: OracleComparison? = nil) {
        (self.key, self.asr, self.otherAccuracyDrop, self.oracle) = (key, asr, otherAccuracyDrop, oracle)
    }

    /// The defense `key` as `summary` of the defended held-out victims reads.
    public init(key: String, summary: VictimSetSummary) {
        self.init(key: key, asr: summary.after.asr, otherAccuracyDrop: summary.otherAccuracyDrop, oracle: summary.oracle)
    }
}

/// One audited pair's white-box bound: every held-out victim stepped on a poison crafted on
/// its own weights (`knowledge: fixed` on it), the attacker who has the weights.
public struct AuditWhiteBox: Codable, Equatable, Sendable {
    /// The held-out victims, each the only victim its poison was crafted on and scored on.
    public var victims: [String]
    public var asr: Stat
    public var otherAccuracyDrop: Stat
    /// The same victims' oracle (the gray-box cell's), so the two cells read on one scale.
    public var oracle: OracleComparison?

    enum CodingKeys: String, CodingKey {
        case victims, asr
        case otherAccuracyDrop = "other_accuracy_drop"
        case oracle
    }

    public init(victims: [String], asr: Stat, otherAccuracyDrop: Stat, oracle: OracleComparison? = nil) {
        (self.victims, self.asr, self.otherAccuracyDrop, self.oracle) = (victims, asr, otherAccuracyDrop, oracle)
    }

    /// The white-box results of `victims`, each stepped on its own poison.
    public init(_ victims: [VictimResult], forget: Int) {
        let summary = VictimSetSummary(victims: victims, forget: forget)
        self.init(victims: victims.map(\.id), asr: summary.after.asr, otherAccuracyDrop: summary.otherAccuracyDrop,
                  oracle: summary.oracle)
    }
}

/// The record of a robustness audit: `audit.json`, schema `amnesia.audit/1`.
///
/// It answers "which K→T pairs are easy to force on this classifier, and at what collateral
/// cost?" as a vulnerability matrix (rows K, columns T).
public struct AuditReport: VersionedReport, Equatable, Sendable {
    /// The schema id this build writes and reads.
    public static let schemaID = "amnesia.audit/1"

    /// Always `AuditReport.schemaID` for values built by this code.
    public var schema: String
    /// Run identity, timings and seed.
    public var run: RunInfo
    /// Class names, indexed by class.
    public var classNames: [String]
    /// The audited pairs (any subset of K ≠ T; missing pairs render as "not audited").
    public var pairs: [AuditPair]
    /// The resolved config, flattened to strings.
    public var config: [String: String]

    enum CodingKeys: String, CodingKey {
        case schema, run
        case classNames = "class_names"
        case pairs, config
    }

    /// Builds an audit with the current schema id.
    public init(run: RunInfo, classNames: [String], pairs: [AuditPair], config: [String: String] = [:]) {
        self.schema = AuditReport.schemaID
        self.run = run
        self.classNames = classNames
        self.pairs = pairs
        self.config = config
    }

    /// The pair for K→T, if it was audited (the last one wins if listed twice).
    public func pair(forget k: Int, target t: Int) -> AuditPair? {
        pairs.last { $0.forget == k && $0.target == t }
    }

    /// The number of classes the matrix spans: the class names, or more if a pair refers beyond them.
    public var matrixSize: Int {
        let maxPair = pairs.map { Swift.max($0.forget, $0.target) + 1 }.max() ?? 0
        return Swift.max(classNames.count, maxPair)
    }

    /// The defense keys any pair was scored under, in first-seen order.
    public var defenseKeys: [String] {
        var keys: [String] = []
        for key in pairs.flatMap({ $0.defenses?.map(\.key) ?? [] }) where !keys.contains(key) { keys.append(key) }
        return keys
    }

    /// Whether any pair carries a white-box bound (the report then shows the three columns).
    public var hasWhiteBox: Bool { pairs.contains { $0.whiteBox != nil } }

    /// Name of class `c`, falling back to its number.
    public func className(_ c: Int) -> String {
        c >= 0 && c < classNames.count ? classNames[c] : "class \(c)"
    }
}
