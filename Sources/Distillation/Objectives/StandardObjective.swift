import Autodiff
import Datasets

/// Dataset distillation as the seeds published it: the step should train the network,
/// scored on uniform real batches with their own labels.
public struct StandardObjective: Objective {
    let labels: [Int], classes: Int

    public init(train: LabeledImages) {
        (labels, classes) = (train.labels, train.info.numClasses)
    }

    public func wantedLabel(_ label: Int) -> Int { label }

    public func realBatch(size: Int, using rng: inout SeededGenerator) -> [Int] {
        uniformBatch(size: size, count: labels.count, using: &rng)
    }

    public func outerTargets(_ batch: [Int]) -> Tensor {
        Tensor.oneHot(batch.map { labels[$0] }, classes: classes)
    }
}
