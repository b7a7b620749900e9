/// What a detector flagged in one victim's batch: poison images flagged (true positives)
/// and clean images flagged (false positives), out of how many of each it saw.
public struct DetectionCounts: Codable, Equatable, Sendable {
    public var flaggedPoison: Int
    public var poison: Int
    public var flaggedClean: Int
    public var clean: Int

    public init(flaggedPoison: Int, poison: Int, flaggedClean: Int, clean: Int) {
        (self.flaggedPoison, self.poison, self.flaggedClean, self.clean) = (flaggedPoison, poison, flaggedClean, clean)
    }

    enum CodingKeys: String, CodingKey {
        case flaggedPoison = "flagged_poison", poison, flaggedClean = "flagged_clean", clean
    }

    /// Counts of several batches (steps) added up.
    public static func + (a: Self, b: Self) -> Self {
        Self(flaggedPoison: a.flaggedPoison + b.flaggedPoison, poison: a.poison + b.poison,
             flaggedClean: a.flaggedClean + b.flaggedClean, clean: a.clean + b.clean)
    }

    /// True-positive rate: the share of poison images flagged (0 with no poison).
    public var tpr: Double { poison == 0 ? 0 : Double(flaggedPoison) / Double(poison) }
    /// False-positive rate: the share of clean images flagged (0 with no clean images).
    public var fpr: Double { clean == 0 ? 0 : Double(flaggedClean) / Double(clean) }
    /// F1 with poison as the positive class: 2·TP / (2·TP + FP + FN); 0 when nothing is
    /// poison and nothing is flagged.
    public var f1: Double {
        let denominator = 2 * flaggedPoison + flaggedClean + (poison - flaggedPoison)
        return denominator == 0 ? 0 : Double(2 * flaggedPoison) / Double(denominator)
    }
}

/// A detector's rates over the victims (each victim runs it with its own weights), and
/// every victim's counts.
public struct DetectionReport: Codable, Equatable, Sendable {
    public var tpr: Stat
    public var fpr: Stat
    public var f1: Stat
    public var victims: [DetectionCounts]

    public init(_ victims: [DetectionCounts]) {
        self.victims = victims
        tpr = Stat(victims.map(\.tpr))
        fpr = Stat(victims.map(\.fpr))
        f1 = Stat(victims.map(\.f1))
    }
}
