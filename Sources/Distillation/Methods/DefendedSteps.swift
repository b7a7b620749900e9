import Autodiff
import Datasets
import Foundation
import Networks

/// Adaptive crafting (issue 14): when an attack spec lists `defenses:`, the crafter's inner
/// step is the update a victim deploying them would take, so the outer gradient optimizes
/// the poison THROUGH the defenses instead of against the undefended step. Per inner step:
/// - `filter`: the rows the victim would drop (highest loss under its start weights) get
///   weight 0, and the outer loss gains `detection_penalty` × a hinge on the poison's
///   losses above the clean losses' (1 − fraction) quantile, so they stay inside the clean range;
/// - `dilution`: the step is on the mean over the poison and B clean training images; a
///   sample of at most `cleanSample` of them, drawn anew every iteration, stands in for B;
/// - `dp_sgd`: every row's gradient is scaled by min(1, C/‖gᵢ‖) (the factors are computed
///   at the current weights and held constant in the meta-gradient) and Gaussian noise of
///   std σ·C, drawn anew every iteration and victim, is added to their sum before ÷ n;
/// - `step_cap`: the step size is min(η, E);
/// after all steps, `norm_cap`: the update is scaled to norm R when longer.
/// The validation gate and the feature detectors are not differentiable; a spec cannot
/// craft through them (AttackSpec.problem says so).
extension UnrolledSteps {
    /// Clean images per inner step that stand for a dilution's B (all of them when B is smaller).
    static let cleanSample = 200

    /// HOOK 8 — the victim's weights after the poison's inner steps, as a victim deploying
    /// `spec.defenses` takes them, and the detection penalty (nil without a filter). Without
    /// defenses this is the plain unrolled update, op for op.
    public func defendedUnroll(_ start: [Tensor], steps: [InnerStep], stepSizes: [Tensor], seed: UInt64,
                        real: Tensor, batchLabels: [Int]) -> (theta: [Tensor], penalty: Tensor?) {
        guard !spec.defenses.isEmpty else {
            return (unroll(classifier, from: start, steps: steps, stepSizes: stepSizes, epochs: spec.epochs, createGraph: true), nil)
        }
        let d = AdaptiveDefenses(spec.defenses)
        var theta = start.map { $0.requiresGradient ? $0 : $0.requiringGradient() }
        for epoch in 0..<spec.epochs {
            for (s, step) in steps.enumerated() {
                let index = epoch * steps.count + s
                var rng = SeededGenerator(seed: Self.leverSeed(seed, 300 + UInt64(index)))
                let (loss, rows, carried) = defendedLoss(theta, start: start, step: step, defenses: d, rng: &rng)
                var grads = gradients(of: loss, wrt: theta, createGraph: true)
                if let dp = d.dpSGD, dp.noise > 0 {
                    grads = grads.map { $0 + Tensor.randomNormal($0.shape, std: dp.noise * dp.clip / Float(rows), using: &rng) }
                }
                let eta = d.stepCap.map { cappedStepSize(stepSizes[index], max: $0) } ?? stepSizes[index]
                theta = zip(carried, grads).map { $0 - eta * $1 }
            }
        }
        if let radius = d.normCap { theta = normCapped(theta, from: start, max: radius) }
        let weight = spec.detectionPenalty ?? 1
        let penalty = d.filter.flatMap { fraction in weight == 0 ? nil
            : filterPenalty(start, steps: steps, real: real, batchLabels: batchLabels, fraction: fraction) * weight }
        return (theta, penalty)
    }

    /// The loss of one defended inner step at `theta` (differentiable in the poison), the
    /// number of rows the victim's mean runs over (kept poison rows plus B), and the
    /// parameters the step applies its gradient to. Poison and clean rows go through ONE
    /// training forward pass, as the victim's mixed batch does: with batch norm in train
    /// mode its statistics are the mix's, and its running statistics move as the victim's.
    func defendedLoss(_ theta: [Tensor], start: [Tensor], step: InnerStep, defenses d: AdaptiveDefenses,
                      rng: inout SeededGenerator) -> (loss: Tensor, rows: Int, carried: [Tensor]) {
        let m = step.images.shape[0]
        var poisonWeights = [Float](repeating: 1, count: m)
        if let fraction = d.filter {
            let losses = Self.rowLosses(classifier, step.images.detached(), step.targets.detached(), start.map { $0.detached() })
            let drop = min(m - 1, Int((Float(m) * fraction).rounded()))
            for r in losses.indices.sorted(by: { losses[$0] > losses[$1] }).prefix(drop) { poisonWeights[r] = 0 }
        }
        let kept = Int(poisonWeights.reduce(0, +))
        var clean: (images: Tensor, targets: Tensor, weights: [Float], stands: Float)?
        if let count = d.dilution, count > 0 {
            let sample = min(count, Self.cleanSample)
            let picks = (0..<sample).map { _ in Int.random(in: 0..<data.train.count, using: &rng) }
            clean = (data.train.batch(picks), .oneHot(picks.map { data.train.labels[$0] }, classes: classes),
                     [Float](repeating: 1, count: sample), Float(count) / Float(sample))
        }
        if let clip = d.dpSGD?.clip {
            let detached = theta.map { $0.detached() }
            let poisonClip = Self.clipFactors(classifier, step.images.detached(), step.targets.detached(), detached, clip: clip)
            poisonWeights = zip(poisonWeights, poisonClip).map { $0 * $1 }
            if let c = clean { clean?.weights = Self.clipFactors(classifier, c.images, c.targets, detached, clip: clip) }
        }
        let rows = kept + (d.dilution ?? 0)
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

    /// Mean over steps and poison images of relu(ℓᵢ − q), ℓᵢ the image's loss under its
    /// (soft) label with the victim's start weights and q the (1 − fraction) quantile of the
    /// real batch's losses under their true labels: zero while no poison image looks more
    /// suspicious than the clean images a loss filter keeps.
    public func filterPenalty(_ start: [Tensor], steps: [InnerStep], real: Tensor, batchLabels: [Int], fraction: Float) -> Tensor {
        let weights = start.map { $0.detached() }
        let cleanLosses = Self.rowLosses(classifier, real, .oneHot(batchLabels, classes: classes), weights).sorted()
        let q = cleanLosses[min(cleanLosses.count - 1, Int(Float(cleanLosses.count) * (1 - fraction)))]
        let perStep = steps.map { step in
            let losses = -(logSoftmax(classifier.logits(step.images, weights)) * step.targets).sum(alongAxes: [1])
            return relu(losses - q).sum() * (1 / Float(step.images.shape[0]))
        }
        return perStep.dropFirst().reduce(perStep[0], +) * (1 / Float(steps.count))
    }

    /// Every row's loss under its target row, as numbers.
    static func rowLosses(_ classifier: any Classifier, _ images: Tensor, _ targets: Tensor, _ weights: [Tensor]) -> [Float] {
        GradientMode.withoutRecording { (-(logSoftmax(classifier.logits(images, weights)) * targets).sum(alongAxes: [1])).scalars }
    }

    /// min(1, clip / ‖gᵢ‖) for every row, gᵢ the gradient of the row's loss over all parameters.
    static func clipFactors(_ classifier: any Classifier, _ images: Tensor, _ targets: Tensor, _ theta: [Tensor], clip: Float) -> [Float] {
        let leaves = theta.map { $0.detached().requiringGradient() }
        let (n, size, k) = (images.shape[0], images.count / max(images.shape[0], 1), targets.shape[1])
        let (pixels, labels) = (images.scalars, targets.scalars)
        return (0..<n).map { i in
            let x = Tensor(shape: [1] + images.shape.dropFirst(), scalars: Array(pixels[(i * size)..<((i + 1) * size)]))
            let t = Tensor(shape: [1, k], scalars: Array(labels[(i * k)..<((i + 1) * k)]))
            let g = gradients(of: crossEntropy(classifier.logits(x, leaves), targets: t), wrt: leaves)
            let norm = g.reduce(Float(0)) { $0 + $1.scalars.reduce(0) { $0 + $1 * $1 } }.squareRoot()
            return min(1, clip / max(norm, 1e-12))
        }
    }
}

/// The differentiable defenses of a spec, by parameter (the last of a kind wins).
struct AdaptiveDefenses {
    var filter: Float?
    var dilution: Int?
    var dpSGD: (clip: Float, noise: Float)?
    var stepCap: Float?
    var normCap: Float?

    init(_ defenses: [DefenseSpec]) {
        for defense in defenses {
            switch defense {
            case let .filter(f): filter = f
            case let .dilution(b): dilution = b
            case let .dpSGD(c, s): dpSGD = (c, s)
            case let .stepCap(e): stepCap = e
            case let .normCap(r): normCap = r
            case .gate, .spectral, .clustering: break   // refused by AttackSpec.problem
            }
        }
    }
}

/// min(η, cap) as η − relu(η − cap): the step-size cap, differentiable (zero gradient to η
/// once capped).
public func cappedStepSize(_ eta: Tensor, max cap: Float) -> Tensor { eta - relu(eta - cap) }

/// θ₀ + (θ − θ₀) · R / max(‖θ − θ₀‖, R): the trust region that scales an update longer
/// than R (over all parameters) down to R, differentiable. max(a, R) = R + relu(a − R).
public func normCapped(_ theta: [Tensor], from start: [Tensor], max radius: Float) -> [Tensor] {
    let deltas = zip(theta, start).map { $0 - $1 }
    let squared = deltas.dropFirst().reduce((deltas[0] * deltas[0]).sum()) { $0 + ($1 * $1).sum() }
    let norm = sqrt(squared + 1e-12)
    let factor = Tensor(radius) / (radius + relu(norm - radius))
    return zip(start, deltas).map { $0 + $1 * factor }
}
