import Specs

/// The `gradient_matching:` section of a spec (method `gradient-matching`).
public struct GradientMatchingOptions: Codable, Sendable, Equatable, StrictlyDecodable {
    /// Synthetic updates per network (distillation), each followed by network training.
    public var outerLoops: Int = 10
    /// Gradient steps the network takes on the synthetic set between synthetic updates.
    public var networkSteps: Int = 5
    /// Their step size.
    public var networkLearningRate: Float = 0.01
    /// Real images per class in each matched batch.
    public var realPerClass: Int = 128
    /// Differentiable Siamese augmentation of each class's real and synthetic batch.
    public var dsa: Bool = false

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case outerLoops = "outer_loops", networkSteps = "network_steps", networkLearningRate = "network_learning_rate"
        case realPerClass = "real_per_class", dsa
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var o = Self()
        o.outerLoops = try c.value(.outerLoops, or: o.outerLoops)
        o.networkSteps = try c.value(.networkSteps, or: o.networkSteps)
        o.networkLearningRate = try c.value(.networkLearningRate, or: o.networkLearningRate)
        o.realPerClass = try c.value(.realPerClass, or: o.realPerClass)
        o.dsa = try c.value(.dsa, or: o.dsa)
        self = o
    }

    var problem: String? {
        if !(1...1_000).contains(outerLoops) { return "gradient_matching.outer_loops must be 1…1000 (got \(outerLoops))" }
        if !(0...1_000).contains(networkSteps) { return "gradient_matching.network_steps must be 0…1000 (got \(networkSteps))" }
        if !(networkLearningRate >= 0 && networkLearningRate.isFinite) {
            return "gradient_matching.network_learning_rate must be zero or positive and finite (got \(networkLearningRate))"
        }
        return realPerClassProblem(realPerClass, section: "gradient_matching")
    }
}

/// The `distribution_matching:` section of a spec (method `distribution-matching`).
public struct DistributionMatchingOptions: Codable, Sendable, Equatable, StrictlyDecodable {
    /// Real images per class whose mean embedding is matched.
    public var realPerClass: Int = 256
    /// Differentiable Siamese augmentation of each class's real and synthetic batch.
    public var dsa: Bool = false

    public enum CodingKeys: String, CodingKey, CaseIterable { case realPerClass = "real_per_class", dsa }

    public init() {}

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        realPerClass = try c.value(.realPerClass, or: 256)
        dsa = try c.value(.dsa, or: false)
    }

    var problem: String? { realPerClassProblem(realPerClass, section: "distribution_matching") }
}

private func realPerClassProblem(_ count: Int, section: String) -> String? {
    (1...AttackLimits.realBatchSize).contains(count) ? nil
        : "\(section).real_per_class must be 1…\(AttackLimits.realBatchSize) (got \(count))"
}

extension AttackSpec {
    /// What the matching methods cannot take, and sections given to the wrong method.
    var matchingProblem: String? {
        if gradientMatching != nil && method != .gradientMatching {
            return "gradient_matching: configures method gradient-matching; this spec's method is \(method.rawValue)"
        }
        if distributionMatching != nil && method != .distributionMatching {
            return "distribution_matching: configures method distribution-matching; this spec's method is \(method.rawValue)"
        }
        guard method == .gradientMatching || method == .distributionMatching else { return nil }
        if steps != 1 { return "method \(method.rawValue) learns one set of images (steps: 1, the set taken `epochs` times); got steps \(steps)" }
        if learnLabels { return "learn_labels is not available with method \(method.rawValue): its images keep the labels the objective gives their class" }
        if !defenses.isEmpty || robustness != Robustness() {
            return "defenses and robustness options shape the unrolled steps; method \(method.rawValue) does not take them"
        }
        if method == .gradientMatching && objective == .forget && gradientMatching?.dsa == true {
            return "gradient_matching.dsa augments the per-class matching of distillation; the attack form (objective forget) aligns whole-poison gradients and does not take it"
        }
        return gradientMatching?.problem ?? distributionMatching?.problem
    }
}
