import Autodiff
import Networks

/// The step size of a poison whose method learns none (kernel regression, the real-image
/// controls): the candidate that works best on crafting victims and training images,
/// never on the held-out victims it will be scored on.
public enum FittedStepSize {
    /// The step sizes tried.
    public static let candidates: [Float] = [0.003, 0.01, 0.03, 0.1, 0.3, 1, 3]

    /// The candidate whose `epochs` gradient steps on `step` leave `victims` with the best
    /// mean accuracy against the objective's labels on the training images `batch`.
    public static func choose(_ step: InnerStep, epochs: Int, context: CraftingContext, victims: [[Tensor]], batch: [Int],
                              workers: Int) -> Float {
        let real = context.data.train.batch(batch)
        let wanted = batch.map { context.objective.wantedLabel(context.data.train.labels[$0]) }
        let scores = candidates.map { size in
            let hits = parallelMap(victims, workers: workers) { start -> Int in
                let theta = unroll(context.classifier, from: start, steps: [step],
                                   stepSizes: [Tensor](repeating: Tensor(size), count: epochs), epochs: epochs, createGraph: false)
                return zip(context.classifier.predictions(real, theta), wanted).filter { $0 == $1 }.count
            }
            return hits.reduce(0, +)
        }
        return candidates[scores.indices.max { scores[$0] < scores[$1] } ?? 0]
    }
}

extension FittedStepSize {
    /// The poison of a method that learns images (and maybe soft labels) but no step size:
    /// one step repeated `spec.epochs` times at the candidate that works best on the first 8
    /// crafting victims, scored on 1000 training images drawn from the spec's seed.
    static func poisonSet(images: Tensor, labels: [Int], softLabels: Tensor?, spec: AttackSpec,
                          context: CraftingContext) -> PoisonSet {
        let step = InnerStep(images: images, targets: softLabels ?? .oneHot(labels, classes: context.classes))
        var rng = SeededGenerator(seed: spec.seed &+ 0x5EED)
        let scoreBatch = context.objective.realBatch(size: 1000, using: &rng)
        let size = choose(step, epochs: spec.epochs, context: context, victims: Array(context.victims.prefix(8)),
                          batch: scoreBatch, workers: 2)
        return PoisonSet(images: images, labels: labels, softLabels: softLabels,
                         stepSizes: [Float](repeating: size, count: spec.epochs), steps: 1, epochs: spec.epochs,
                         metadata: context.metadata)
    }
}
