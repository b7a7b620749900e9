import Specs

/// The `expert_trajectories:` section of a spec with `method: expert-trajectories`
/// (Methods/ExpertTrajectories.swift): the experts (MTT's buffer.py) and the segments
/// matched (MTT's distill.py), under MTT's own names where it has one.
///
/// The defaults are what two shared cores afford with LeNet on Fashion-MNIST: an expert
/// epoch (235 batches of 256) costs a few seconds, so 4 experts × 10 epochs train in a few
/// minutes once and are cached; M = 2 expert epochs and starts in [0, 4) are MTT's
/// CIFAR-10 values for 1-10 images per class scaled to the shorter trajectories (MTT trains
/// 50 epochs and starts up to epoch 2-20); N = 20 synthetic steps (MTT: 30-80) keeps an
/// iteration (forward, backward and their graph through 20 steps) at a fraction of a second.
public struct ExpertTrajectoryOptions: Codable, Sendable, Equatable, StrictlyDecodable {
    /// Experts E: networks trained on the clean training data, each from the crafting
    /// initialization of its index (cycled when there are fewer).
    public var experts: Int = 4
    /// Epochs each expert trains (MTT's `train_epochs`); its parameters are kept after each.
    public var trainEpochs: Int = 10
    /// Expert epochs M a segment spans: θ_e → θ_{e+M} (MTT's `expert_epochs`).
    public var expertEpochs: Int = 2
    /// Start epochs e are drawn uniformly from [0, max_start_epoch) (MTT's `max_start_epoch`).
    public var maxStartEpoch: Int = 4
    /// Synthetic steps N taken from θ_e (MTT's `syn_steps`).
    public var syntheticSteps: Int = 20
    /// Images per synthetic step (MTT's `batch_syn`), drawn without replacement through a
    /// shuffle of the set and reshuffled when it runs out; absent, or more than the set
    /// holds: all of them every step.
    public var syntheticBatch: Int?
    /// The experts' plain SGD learning rate (MTT's `lr_teacher`); the learned synthetic step
    /// size starts there, as MTT's `syn_lr` does (the spec's `initial_step_size`, like
    /// `victims_per_iteration` and `real_batch_size`, is not read by this method).
    public var expertLearningRate: Float = 0.01
    /// The experts' minibatch (MTT's `batch_train`).
    public var expertBatchSize: Int = 256

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case experts, trainEpochs = "train_epochs", expertEpochs = "expert_epochs", maxStartEpoch = "max_start_epoch"
        case syntheticSteps = "synthetic_steps", syntheticBatch = "synthetic_batch"
        case expertLearningRate = "expert_learning_rate", expertBatchSize = "expert_batch_size"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var o = ExpertTrajectoryOptions()
        o.experts = try c.value(.experts, or: o.experts)
        o.trainEpochs = try c.value(.trainEpochs, or: o.trainEpochs)
        o.expertEpochs = try c.value(.expertEpochs, or: o.expertEpochs)
        o.maxStartEpoch = try c.value(.maxStartEpoch, or: o.maxStartEpoch)
        o.syntheticSteps = try c.value(.syntheticSteps, or: o.syntheticSteps)
        o.syntheticBatch = try c.decodeIfPresent(Int.self, forKey: .syntheticBatch)
        o.expertLearningRate = try c.value(.expertLearningRate, or: o.expertLearningRate)
        o.expertBatchSize = try c.value(.expertBatchSize, or: o.expertBatchSize)
        self = o
    }

    /// Most experts, epochs or synthetic steps a spec may ask for: each expert epoch is a
    /// pass over the training set, each synthetic step stays in the graph.
    public static let limit = 1000

    /// The first invalid value, named by its key.
    var problem: String? {
        let counts = [("experts", experts), ("train_epochs", trainEpochs), ("expert_epochs", expertEpochs),
                      ("max_start_epoch", maxStartEpoch), ("synthetic_steps", syntheticSteps),
                      ("synthetic_batch", syntheticBatch ?? 1), ("expert_batch_size", expertBatchSize)]
        if let (key, value) = counts.first(where: { !(1...Self.limit).contains($0.1) }) {
            return "expert_trajectories.\(key) must be 1…\(Self.limit) (got \(value))"
        }
        if maxStartEpoch + expertEpochs > trainEpochs + 1 {
            return "expert_trajectories.max_start_epoch \(maxStartEpoch) + expert_epochs \(expertEpochs) must be at most train_epochs \(trainEpochs) + 1: the last start's segment must end on a saved epoch"
        }
        if !(expertLearningRate > 0 && expertLearningRate.isFinite) {
            return "expert_trajectories.expert_learning_rate must be positive and finite (got \(expertLearningRate))"
        }
        return nil
    }
}
