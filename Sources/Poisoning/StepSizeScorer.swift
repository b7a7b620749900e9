import Autodiff
import Foundation
import Networks

/// The one way a step size is chosen for a poison that has none of its own: the poison of a
/// method that learns images but no step size (the matching methods, KIP) and every
/// real-image control. Each candidate is the size of every inner step; the chosen one gives
/// the best weighted accuracy against the objective's labels on a fixed batch of real
/// training images (class K's examples relabelled T, the other classes by `retain_weight`),
/// summed over the attacker's victims. Crafting victims and training images only: the
/// held-out victims never choose it, and poison and controls are chosen alike.
public struct StepSizeScorer: Sendable {
    /// 10^(k/4) for k = −12…4: 0.001 to 10, four per decade.
    public static let candidates: [Float] = (-12...4).map { Foundation.pow(10, Float($0) / 4) }
    /// How many of the attacker's victims score a candidate.
    public static let victimCount = 8
    /// How many real training images score a candidate.
    public static let imageCount = 1024

    let classifier: any Classifier
    let victims: [[Tensor]]
    let images: Tensor
    /// Every image's wanted class and its weight in the score.
    let wanted: [Int]
    let weights: [Float]

    /// A scorer on the first `victimCount` of `victims`, with `images` and their outer
    /// `targets` [n, classes] (rows scaled by their weight).
    public init(classifier: any Classifier, victims: [[Tensor]], images: Tensor, targets: Tensor) {
        let classes = targets.shape[1], values = targets.scalars
        let rows = (0..<targets.shape[0]).map { Array(values[($0 * classes)..<(($0 + 1) * classes)]) }
        (self.classifier, self.victims, self.images) = (classifier, Array(victims.prefix(Self.victimCount)), images)
        wanted = rows.map { row in row.indices.max { row[$0] < row[$1] } ?? 0 }
        weights = rows.map { $0.reduce(0, +) }
    }

    /// The best candidate for `steps`, every step of every epoch at that size.
    public func best(_ steps: [InnerStep], epochs: Int) -> Float {
        let total = weights.reduce(0, +)
        let scores = parallelMap(Self.candidates, workers: 2) { size -> Float in
            victims.map { victim -> Float in
                let theta = unroll(classifier, from: victim, steps: steps,
                                   stepSizes: [Tensor](repeating: Tensor(size), count: steps.count * epochs),
                                   epochs: epochs, createGraph: false)
                guard theta.allSatisfy({ $0.scalars.allSatisfy(\.isFinite) }) else { return -1 }
                let predicted = classifier.predictions(images, theta)
                return zip(zip(predicted, wanted), weights).map { $0.0 == $0.1 ? $1 : 0 }.reduce(0, +) / total
            }.reduce(0, +)
        }
        var best = 0
        for i in scores.indices where scores[i] > scores[best] { best = i }
        return Self.candidates[best]
    }

    /// `poison` with every step size replaced by the best candidate for its steps.
    public func fitted(_ poison: PoisonSet) -> PoisonSet {
        let steps = (0..<poison.steps).map { s in
            let (images, targets) = poison.step(s, classes: classifier.classes)
            return InnerStep(images: images, targets: targets)
        }
        var fitted = poison
        fitted.stepSizes = [Float](repeating: best(steps, epochs: poison.epochs), count: poison.steps * poison.epochs)
        return fitted
    }
}
