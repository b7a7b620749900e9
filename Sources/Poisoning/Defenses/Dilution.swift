import Autodiff
import Datasets
import Networks

/// The poison arrives mixed into a batch of clean training images with their true labels,
/// and the victim steps on the whole mix (the mean loss over poison and clean images).
public struct Dilution: VictimUpdate {
    /// The clean images, [B, C, H, W], and their one-hot labels, [B, classes].
    public let clean: (images: Tensor, targets: Tensor)

    /// `count` training images drawn with `seed` from `train`.
    public init(count: Int, train: LabeledImages, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let picks = (0..<count).map { _ in Int.random(in: 0..<train.count, using: &rng) }
        clean = (train.batch(picks), .oneHot(picks.map { train.labels[$0] }, classes: train.info.numClasses))
    }

    public var key: String { DefenseSpec.dilution(clean: clean.images.shape[0]).key }
    public var description: String { "Dilution: the poison is mixed into \(clean.images.shape[0]) clean training images." }

    public func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome {
        let diluted = poison.replacingSteps(classes: classifier.classes) { _, images, targets in mixed(images, targets) }
        return PlainUpdate().apply(parameters, poison: diluted, classifier: classifier)
    }

    /// One step's poison `images` and `targets` followed by the clean images and theirs.
    public func mixed(_ images: Tensor, _ targets: Tensor) -> (images: Tensor, targets: Tensor) {
        (Tensor(shape: [images.shape[0] + clean.images.shape[0]] + images.shape.dropFirst(),
                scalars: images.scalars + clean.images.scalars),
         Tensor(shape: [targets.shape[0] + clean.targets.shape[0], targets.shape[1]],
                scalars: targets.scalars + clean.targets.scalars))
    }
}
