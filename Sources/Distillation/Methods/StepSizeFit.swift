import Autodiff
import Foundation
import Networks
import Poisoning

/// The step size of a poison whose method learns none (the matching methods, KIP): the
/// candidate under which the poison, taken for its epochs from crafting victims, gives
/// the best accuracy against the objective's labels on a fixed batch of real training
/// images, weighted as the objective's outer targets weigh them (class K's examples
/// relabelled T, the others by `retain_weight`). Crafting victims and training images
/// only: the held-out victims never choose it.
public struct StepSizeFit: Sendable {
    /// 10^(k/4) for k = −12…4: 0.001 to 10, four per decade.
    public static let candidates: [Float] = (-12...4).map { Foundation.pow(10, Float($0) / 4) }
    /// Real images the fit scores on.
    static let images = 1024

    let context: CraftingContext
    let seed: UInt64

    public init(context: CraftingContext, seed: UInt64) { (self.context, self.seed) = (context, seed) }

    /// The best candidate for `step` taken `epochs` times, scored on the first `victims`
    /// crafting victims.
    public func best(_ step: InnerStep, epochs: Int, victims count: Int = 4) -> Float {
        var rng = SeededGenerator(seed: seed ^ 0x57E9_512E)
        let batch = context.objective.realBatch(size: Self.images, using: &rng)
        let real = context.data.train.batch(batch)
        let targets = context.objective.outerTargets(batch)
        let classes = context.classes
        let rows = (0..<batch.count).map { Array(targets.scalars[($0 * classes)..<(($0 + 1) * classes)]) }
        let wanted = rows.map { row in row.indices.max { row[$0] < row[$1] } ?? 0 }
        let weights = rows.map { $0.reduce(0, +) }
        let victims = Array(context.victims.prefix(count))
        let scores = parallelMap(Self.candidates, workers: 2) { size -> Float in
            return victims.map { victim -> Float in
                let theta = unroll(context.classifier, from: victim, steps: [step],
                                   stepSizes: [Tensor](repeating: Tensor(size), count: epochs), epochs: epochs, createGraph: false)
                guard theta.allSatisfy({ $0.scalars.allSatisfy(\.isFinite) }) else { return -1 }
                let predicted = context.classifier.predictions(real, theta)
                return zip(zip(predicted, wanted), weights).map { $0.0 == $0.1 ? $1 : 0 }.reduce(0, +) / weights.reduce(0, +)
            }.reduce(0, +)
        }
        var best = 0
        for i in scores.indices where scores[i] > scores[best] { best = i }
        return Self.candidates[best]
    }
}

extension StepSizeFit {
    /// The poison of a method that learns images (and maybe soft labels) but no step size:
    /// one step repeated `spec.epochs` times at the candidate that works best on the first 8
    /// crafting victims.
    static func poisonSet(images: Tensor, labels: [Int], softLabels: Tensor?, spec: AttackSpec,
                          context: CraftingContext) -> PoisonSet {
        let step = InnerStep(images: images, targets: softLabels ?? .oneHot(labels, classes: context.classes))
        let size = StepSizeFit(context: context, seed: spec.seed).best(step, epochs: spec.epochs, victims: 8)
        return PoisonSet(images: images, labels: labels, softLabels: softLabels,
                         stepSizes: [Float](repeating: size, count: spec.epochs), steps: 1, epochs: spec.epochs,
                         metadata: context.metadata)
    }
}
