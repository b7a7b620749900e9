import Vocabulary

/// One victim's metrics before and after the poison step.
public struct VictimResult: Codable, Equatable, Sendable {
    /// Stable identifier, e.g. the weights file stem in the zoo.
    public var id: String
    /// The victim's role in the experiment.
    public var role: VictimRole
    /// Seed the victim was trained with, so it can be rebuilt.
    public var seed: UInt64
    /// Metrics of the victim as trained.
    public var before: ClassMetrics
    /// Metrics after the poison step(s).
    public var after: ClassMetrics
    /// Metrics of the same victim after the oracle (fine-tuned on the training set with K
    /// relabelled T: the most poisoning can do to it); nil when no oracle was run.
    public var oracle: ClassMetrics?

    /// Memberwise initializer.
    public init(id: String, role: VictimRole, seed: UInt64, before: ClassMetrics, after: ClassMetrics,
                oracle: ClassMetrics? = nil) {
        self.id = id
        self.role = role
        self.seed = seed
        self.before = before
        self.after = after
        self.oracle = oracle
    }
}

/// Summary of a set of victims: the two moments, and the collateral damage between them.
public struct VictimSetSummary: Codable, Equatable, Sendable {
    /// All metrics before the step.
    public var before: MetricsSummary
    /// All metrics after the step.
    public var after: MetricsSummary
    /// Per victim `before.otherAccuracy − after.otherAccuracy`: positive means damage.
    public var otherAccuracyDrop: Stat
    /// The class other than K whose accuracy dropped most, on average over the victims:
    /// a mean drop can hide one class that was wrecked. Nil when K was not given.
    public var worstOtherClassDrop: ClassDrop?
    /// The same victims read against their oracle; nil unless every victim has one.
    public var oracle: OracleComparison?

    enum CodingKeys: String, CodingKey {
        case before, after
        case otherAccuracyDrop = "other_accuracy_drop"
        case worstOtherClassDrop = "worst_other_class_drop"
        case oracle
    }

    /// Computes the summary of `victims`; `forget` (K) names the class left out of the
    /// worst-class drop.
    public init(victims: [VictimResult], forget: Int? = nil) {
        before = MetricsSummary(victims.map(\.before))
        after = MetricsSummary(victims.map(\.after))
        otherAccuracyDrop = Stat(victims.map { $0.before.otherAccuracy - $0.after.otherAccuracy })
        worstOtherClassDrop = forget.flatMap { ClassDrop.worst(victims, excluding: $0) }
        oracle = forget.flatMap { OracleComparison(victims, forget: $0, worstClassDrop: worstOtherClassDrop) }
    }

    /// Memberwise initializer.
    public init(before: MetricsSummary, after: MetricsSummary, otherAccuracyDrop: Stat, worstOtherClassDrop: ClassDrop? = nil) {
        self.before = before
        self.after = after
        self.otherAccuracyDrop = otherAccuracyDrop
        self.worstOtherClassDrop = worstOtherClassDrop
    }
}

/// One class's accuracy drop, averaged over a set of victims.
public struct ClassDrop: Codable, Equatable, Sendable {
    public var classIndex: Int
    /// Mean over victims of accuracy before − after on this class (positive: damage).
    public var drop: Double

    enum CodingKeys: String, CodingKey {
        case classIndex = "class"
        case drop
    }

    public init(classIndex: Int, drop: Double) {
        (self.classIndex, self.drop) = (classIndex, drop)
    }

    /// The class other than `forget` with the largest mean drop over `victims` from before
    /// to `after` (by default the poison's after).
    static func worst(_ victims: [VictimResult], excluding forget: Int,
                      after: (VictimResult) -> ClassMetrics = \.after) -> ClassDrop? {
        guard let classes = victims.first?.before.perClass.count else { return nil }
        let drops = (0..<classes).filter { $0 != forget }.map { c in
            ClassDrop(classIndex: c, drop: victims.map { $0.before.perClass[c] - after($0).perClass[c] }.reduce(0, +) / Double(victims.count))
        }
        return drops.max { $0.drop < $1.drop }
    }
}

/// A set of victims with their summary.
public struct VictimSetResult: Codable, Equatable, Sendable {
    /// The individual victims, in evaluation order.
    public var victims: [VictimResult]
    /// Summary over `victims`. Stored (not recomputed on load) so the JSON is self-describing
    /// for tools that only read the summary.
    public var summary: VictimSetSummary

    /// Wraps `victims` and computes their summary, so the two can never disagree.
    public init(victims: [VictimResult], forget: Int? = nil) {
        self.victims = victims
        self.summary = VictimSetSummary(victims: victims, forget: forget)
    }

    /// The same victims with their oracle's metrics (by victim id) attached, and the
    /// summary recomputed so it reads them. Victims without an entry keep none.
    public func withOracles(_ oracles: [String: ClassMetrics], forget: Int) -> VictimSetResult {
        VictimSetResult(victims: victims.map { victim in
            var victim = victim
            victim.oracle = oracles[victim.id] ?? victim.oracle
            return victim
        }, forget: forget)
    }
}

/// A control: a non-learned poison (e.g. real images of K relabelled T) scored like the attack.
///
/// Baselines answer "is the learned poison better than the obvious thing?"; their step size is
/// chosen on the crafting zoo only, like the attack's.
public struct BaselineResult: Codable, Equatable, Sendable {
    /// What the baseline is, in plain words.
    public var description: String
    /// The step size used for this baseline.
    public var stepSize: Double
    /// Summary over `victims`.
    public var summary: VictimSetSummary
    /// The victims it was evaluated on (normally the held-out set).
    public var victims: [VictimResult]

    enum CodingKeys: String, CodingKey {
        case description
        case stepSize = "step_size"
        case summary, victims
    }

    /// Wraps `victims` and computes their summary (`forget`: K, for the worst class and
    /// the oracle comparison).
    public init(description: String, stepSize: Double, victims: [VictimResult], forget: Int? = nil) {
        self.description = description
        self.stepSize = stepSize
        self.victims = victims
        self.summary = VictimSetSummary(victims: victims, forget: forget)
    }
}
