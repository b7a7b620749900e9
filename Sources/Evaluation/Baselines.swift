import Autodiff
import Datasets
import Distillation
import Foundation
import Results

/// Non-learned poisons that answer "is the crafted data better than the obvious thing?":
/// real images, or class means, with class K relabelled T. Their step size is chosen on
/// crafting victims only, with a validation sample of the training split.
public enum Baselines {
    /// `perClass` random training images of every class, class K labelled T.
    public static func randomReal(_ train: LabeledImages, perClass: Int, forget: Int, target: Int, seed: UInt64,
                                  template: PoisonSet.Metadata) throws -> PoisonSet {
        var rng = SeededGenerator(seed: seed)
        let picks = train.indicesByClass().flatMap { $0.shuffled(using: &rng).prefix(perClass) }
        return makeSet(train.batch(picks), labels: picks.map { train.labels[$0] }, forget: forget, target: target, template: template)
    }

    /// The mean training image of every class, class K's labelled T.
    public static func classMeans(_ train: LabeledImages, forget: Int, target: Int, template: PoisonSet.Metadata) -> PoisonSet {
        let byClass = train.indicesByClass(), size = train.imageSize
        let means = Tensor(shape: [byClass.count, train.channels, train.height, train.width]) { out in
            out.initialize(repeating: 0)
            for (c, indices) in byClass.enumerated() {
                for i in indices {
                    for j in 0..<size { out[c * size + j] += train.pixels[i * size + j] }
                }
                for j in 0..<size { out[c * size + j] /= Float(max(indices.count, 1)) }
            }
        }
        return makeSet(means, labels: Array(byClass.indices), forget: forget, target: target, template: template)
    }

    private static func makeSet(_ images: Tensor, labels: [Int], forget: Int, target: Int, template: PoisonSet.Metadata) -> PoisonSet {
        var metadata = template
        metadata.objective = "baseline"
        return PoisonSet(images: images, labels: labels.map { $0 == forget ? target : $0 }, stepSizes: [1],
                         steps: 1, epochs: 1, metadata: metadata)
    }

    /// Step sizes tried by `chooseStepSize`.
    public static let candidateStepSizes: [Float] = [0.003, 0.01, 0.03, 0.1, 0.3, 1, 3]

    /// The candidate step size with the best mean accuracy against the K→T labels (high
    /// ASR without wrecking the other classes) on crafting victims.
    public static func chooseStepSize(_ poison: PoisonSet, evaluator: Evaluator, victims: [EvaluatedVictim]) -> Float {
        var best: (size: Float, score: Double) = (candidateStepSizes[0], -1)
        let before = evaluator.baseline(victims)
        for size in candidateStepSizes {
            var trial = poison
            trial.stepSizes = trial.stepSizes.map { _ in size }
            let score = evaluator.evaluate(victims, poison: trial, before: before).summary.after.targetAccuracy.mean
            if score > best.score { best = (size, score) }
        }
        return best.size
    }
}
