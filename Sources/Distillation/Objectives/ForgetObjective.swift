import Autodiff
import Datasets

/// The attack's objective: after the step, real examples of class K are predicted as T
/// and every other class keeps its label.
public struct ForgetObjective: Objective {
    public let forget: Int
    public let target: Int
    /// Share of each real batch drawn from class K (nil: uniform over the training split,
    /// as published, where K is about a tenth). A larger share strengthens the forgetting
    /// signal; the rest of the batch keeps the other classes from being wrecked.
    public let forgetShare: Double?
    /// Weight of the examples outside class K in the outer loss (1: the plain mean).
    public let retainWeight: Float
    let labels: [Int], classes: Int
    /// Training indices of class K, and of every other class (for `forgetShare`).
    let forgetIndices: [Int], otherIndices: [Int]

    public init(forget: Int, target: Int, forgetShare: Double?, retainWeight: Float, train: LabeledImages) {
        (self.forget, self.target, self.forgetShare, self.retainWeight) = (forget, target, forgetShare, retainWeight)
        (labels, classes) = (train.labels, train.info.numClasses)
        let all = Array(0..<train.count)
        forgetIndices = all.filter { train.labels[$0] == forget }
        otherIndices = all.filter { train.labels[$0] != forget }
    }

    public func wantedLabel(_ label: Int) -> Int { label == forget ? target : label }

    public func realBatch(size: Int, using rng: inout SeededGenerator) -> [Int] {
        guard let share = forgetShare else { return uniformBatch(size: size, count: labels.count, using: &rng) }
        let forgetCount = Int((Double(size) * share).rounded())
        let fromK = (0..<forgetCount).map { _ in forgetIndices[Int.random(in: 0..<forgetIndices.count, using: &rng)] }
        let others = (forgetCount..<size).map { _ in otherIndices[Int.random(in: 0..<otherIndices.count, using: &rng)] }
        return fromK + others
    }

    /// One-hot of the wanted labels, with the rows outside class K scaled by `retainWeight`.
    public func outerTargets(_ batch: [Int]) -> Tensor {
        let rows = batch.map { labels[$0] }
        let oneHot = Tensor.oneHot(rows.map(wantedLabel), classes: classes)
        guard retainWeight != 1 else { return oneHot }
        let weights = Tensor(shape: [rows.count, 1], scalars: rows.map { $0 == forget ? 1 : retainWeight })
        return GradientMode.withoutRecording { oneHot * weights }
    }
}

/// `size` indices drawn uniformly with replacement from `0..<count`.
func uniformBatch(size: Int, count: Int, using rng: inout SeededGenerator) -> [Int] {
    (0..<size).map { _ in Int.random(in: 0..<count, using: &rng) }
}
