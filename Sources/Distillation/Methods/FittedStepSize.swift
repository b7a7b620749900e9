import Autodiff
import Datasets
import Poisoning

extension CraftingContext {
    /// The step-size scorer of this context: its first `StepSizeScorer.victimCount` victims,
    /// on `StepSizeScorer.imageCount` real training images drawn with `seed` as the objective
    /// draws its batches, weighted as its outer targets weigh them.
    public func stepSizeScorer(seed: UInt64) -> StepSizeScorer {
        var rng = SeededGenerator(seed: seed ^ 0x57E9_512E)
        let batch = objective.realBatch(size: StepSizeScorer.imageCount, using: &rng)
        return StepSizeScorer(classifier: classifier, victims: victims, images: data.train.batch(batch),
                              targets: objective.outerTargets(batch))
    }

    /// The poison of a method that learns images (and maybe soft labels) but no step size:
    /// one step repeated `epochs` times at the size the scorer chooses.
    public func fittedPoison(images: Tensor, labels: [Int], softLabels: Tensor?, epochs: Int, seed: UInt64) -> PoisonSet {
        let poison = PoisonSet(images: images, labels: labels, softLabels: softLabels,
                               stepSizes: [Float](repeating: 1, count: epochs), steps: 1, epochs: epochs, metadata: metadata)
        return stepSizeScorer(seed: seed).fitted(poison)
    }
}
