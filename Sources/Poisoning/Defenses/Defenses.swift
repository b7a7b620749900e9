import Datasets

extension DefenseSpec {
    /// The victim update this defense stands for. `validation` is the gate's clean
    /// images, `train` where dilution draws its clean images, `seed` every random draw.
    public func update(validation: LabeledImages, train: LabeledImages, seed: UInt64) -> any VictimUpdate {
        switch self {
        case let .gate(maxDrop): ValidationGate(maxDrop: maxDrop, validation: validation)
        case let .filter(fraction): LossFilter(fraction: fraction)
        case let .dpSGD(clip, noise): NoisyClippedStep(clip: clip, noise: noise, seed: seed)
        case let .stepCap(max): StepCap(max: max)
        case let .normCap(max): NormCap(max: max)
        case let .dilution(clean): Dilution(count: clean, train: train, seed: seed)
        case let .spectral(clean, fraction):
            FeatureScreening(detector: SpectralSignatures(fraction: fraction, clean: clean), mix: Dilution(count: clean, train: train, seed: seed))
        case let .clustering(clean, maxShare):
            FeatureScreening(detector: ActivationClustering(maxShare: maxShare, clean: clean), mix: Dilution(count: clean, train: train, seed: seed))
        }
    }
}
