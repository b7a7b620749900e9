import Victims

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

    /// Memberwise initializer.
    public init(id: String, role: VictimRole, seed: UInt64, before: ClassMetrics, after: ClassMetrics) {
        self.id = id
        self.role = role
        self.seed = seed
        self.before = before
        self.after = after
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

    enum CodingKeys: String, CodingKey {
        case before, after
        case otherAccuracyDrop = "other_accuracy_drop"
    }

    /// Computes the summary of `victims`.
    public init(victims: [VictimResult]) {
        before = MetricsSummary(victims.map(\.before))
        after = MetricsSummary(victims.map(\.after))
        otherAccuracyDrop = Stat(victims.map { $0.before.otherAccuracy - $0.after.otherAccuracy })
    }

    /// Memberwise initializer.
    public init(before: MetricsSummary, after: MetricsSummary, otherAccuracyDrop: Stat) {
        self.before = before
        self.after = after
        self.otherAccuracyDrop = otherAccuracyDrop
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
    public init(victims: [VictimResult]) {
        self.victims = victims
        self.summary = VictimSetSummary(victims: victims)
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

    /// Wraps `victims` and computes their summary.
    public init(description: String, stepSize: Double, victims: [VictimResult]) {
        self.description = description
        self.stepSize = stepSize
        self.victims = victims
        self.summary = VictimSetSummary(victims: victims)
    }
}
