import Specs

/// The `trajectory_matching:` section of a spec with `method: trajectory-matching`
/// (Methods/TrajectoryMatching.swift). The poison's own steps are `epochs` (one step on
/// the images per epoch, as the poison is later scored), so the section names only the
/// target trajectory's.
public struct TrajectoryOptions: Codable, Sendable, Equatable, StrictlyDecodable {
    /// Plain SGD steps the target takes from each crafting victim on K→T relabelled real
    /// batches (one fresh batch of `real_batch_size` per step).
    public var targetSteps: Int = 20
    /// Their step size.
    public var targetLearningRate: Float = 0.01

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case targetSteps = "target_steps", targetLearningRate = "target_learning_rate"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var o = TrajectoryOptions()
        o.targetSteps = try c.value(.targetSteps, or: o.targetSteps)
        o.targetLearningRate = try c.value(.targetLearningRate, or: o.targetLearningRate)
        self = o
    }

    /// Most target steps a spec may ask for: each is a forward and backward pass per victim.
    public static let maxTargetSteps = 1000

    /// The first invalid value, named by its key.
    var problem: String? {
        if !(1...Self.maxTargetSteps).contains(targetSteps) {
            return "trajectory_matching.target_steps must be 1…\(Self.maxTargetSteps) (got \(targetSteps))"
        }
        if !(targetLearningRate > 0 && targetLearningRate.isFinite) {
            return "trajectory_matching.target_learning_rate must be positive and finite (got \(targetLearningRate)): the target must move from the victim"
        }
        return nil
    }
}
