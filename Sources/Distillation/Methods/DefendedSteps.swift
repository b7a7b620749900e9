import Autodiff
import Datasets
import Foundation
import Networks
import Poisoning

/// Adaptive crafting: when an attack spec lists `defenses:`, the crafter's inner step is the
/// update a victim deploying them would take, so the outer gradient optimizes the poison
/// THROUGH the defenses instead of against the undefended step. What each defense does here
/// is its adaptive form (`AdaptiveDefense`, beside its evaluation form in Poisoning); this
/// step applies them in a fixed order.
extension UnrolledSteps {
    /// Clean images per inner step that stand for a dilution's B (all of them when B is smaller).
    static let cleanSample = 200

    /// The victim's weights after the poison's inner steps, as a victim deploying
    /// `spec.defenses` takes them, and the defenses' penalty (nil when none has one).
    /// Without defenses this is the plain unrolled update, op for op.
    public func defendedUnroll(_ start: [Tensor], steps: [InnerStep], stepSizes: [Tensor], seed: UInt64,
                               real: Tensor, batchLabels: [Int]) -> (theta: [Tensor], penalty: Tensor?) {
        guard !spec.defenses.isEmpty else {
            return (unroll(classifier, from: start, steps: steps, stepSizes: stepSizes, epochs: spec.epochs, createGraph: true), nil)
        }
        let defenses = spec.defenses.compactMap(\.defense.adaptive)
        var theta = start.map { $0.requiresGradient ? $0 : $0.requiringGradient() }
        for epoch in 0..<spec.epochs {
            for (s, step) in steps.enumerated() {
                let index = epoch * steps.count + s
                var rng = SeededGenerator(seed: Self.leverSeed(seed, 300 + UInt64(index)))
                let (loss, rows, carried) = defendedLoss(theta, start: start, step: step, defenses: defenses, rng: &rng)
                var grads = gradients(of: loss, wrt: theta, createGraph: true)
                for d in defenses { grads = d.noisyGradients(grads, rows: rows, using: &rng) }
                let eta = defenses.reduce(stepSizes[index]) { $1.stepSize($0) }
                theta = zip(carried, grads).map { $0 - eta * $1 }
            }
        }
        theta = defenses.reduce(theta) { $1.finalParameters($0, start: start) }
        let weight = spec.detectionPenalty
        guard weight != 0 else { return (theta, nil) }
        let scene = PenaltyScene(classifier: classifier, start: start, steps: steps, real: real, batchLabels: batchLabels)
        let terms = defenses.compactMap { $0.penalty(scene) }
        return (theta, terms.isEmpty ? nil : terms.dropFirst().reduce(terms[0], +) * weight)
    }

    /// The loss of one defended inner step at `theta` (differentiable in the poison), the
    /// number of rows the victim's mean runs over (kept poison rows plus B), and the
    /// parameters the step applies its gradient to. Poison and clean rows go through ONE
    /// training forward pass, as the victim's mixed batch does: with batch norm in train
    /// mode its statistics are the mix's, and its running statistics move as the victim's.
    func defendedLoss(_ theta: [Tensor], start: [Tensor], step: InnerStep, defenses: [any AdaptiveDefense],
                      rng: inout SeededGenerator) -> (loss: Tensor, rows: Int, carried: [Tensor]) {
        let m = step.images.shape[0]
        var poisonWeights = defenses.reduce([Float](repeating: 1, count: m)) {
            $1.poisonWeights($0, step: step, start: start, classifier: classifier)
        }
        let kept = Int(poisonWeights.reduce(0, +))
        let count = defenses.map(\.cleanImages).max() ?? 0
        var clean: (images: Tensor, targets: Tensor, weights: [Float], stands: Float)?
        if count > 0 {
            let sample = min(count, Self.cleanSample)
            let picks = (0..<sample).map { _ in Int.random(in: 0..<data.train.count, using: &rng) }
            clean = (data.train.batch(picks), .oneHot(picks.map { data.train.labels[$0] }, classes: classes),
                     [Float](repeating: 1, count: sample), Float(count) / Float(sample))
        }
        let detached = theta.map { $0.detached() }
        for d in defenses {
            guard let factors = d.rowFactors(step.images.detached(), step.targets.detached(), at: detached, classifier: classifier)
            else { continue }
            poisonWeights = zip(poisonWeights, factors).map { $0 * $1 }
            if let c = clean { clean?.weights = d.rowFactors(c.images, c.targets, at: detached, classifier: classifier) ?? c.weights }
        }
        let rows = kept + count
        // Every row's weight in the victim's mean: a clean row of the sample stands for
        // `stands` of the B clean images.
        var images = step.images, targets = step.targets, weights = poisonWeights.map { $0 / Float(rows) }
        if let c = clean {
            images = concatenated([images, c.images], axis: 0)
            targets = concatenated([targets, c.targets], axis: 0)
            weights += c.weights.map { $0 * c.stands / Float(rows) }
        }
        let (logits, carried) = classifier.trainingForward(images, theta)
        // crossEntropy is the mean over its rows: × their count gives the weighted sum.
        let loss = crossEntropy(logits, targets: targets * Tensor(shape: [weights.count, 1], scalars: weights))
            * Float(weights.count)
        return (loss, rows, carried)
    }
}
