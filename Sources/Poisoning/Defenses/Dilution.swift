import Autodiff
import Datasets
import Networks
import Specs

/// `dilution: {clean: B}`: the poison arrives mixed into B clean training images. Adaptive
/// form: the crafter steps on the mean over the poison and B clean images (a sample of them,
/// drawn anew every iteration, stands in for B).
public struct DilutionDefense: Defense, AdaptiveDefense {
    public static let name = "dilution"
    public static let form = "dilution:clean=B"
    public let clean: Int

    public init(clean: Int) { self.clean = clean }

    public init(parameters: DefenseParameters) throws(SpecError) {
        clean = try parameters.cleanCount(parameters.take(["clean"], form: Self.form)[0])
    }

    public var parameters: [String: Float] { ["clean": Float(clean)] }
    public func update(in environment: DefenseEnvironment) -> any VictimUpdate {
        Dilution(count: clean, train: environment.train, seed: environment.seed)
    }
    public var adaptive: (any AdaptiveDefense)? { self }
    public var cleanImages: Int { clean }
}

extension DefenseSpec {
    /// The poison arrives mixed into `clean` clean training images; the step is on the mix.
    public static func dilution(clean: Int) -> DefenseSpec { DefenseSpec(DilutionDefense(clean: clean)) }
}

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
