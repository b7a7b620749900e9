import Autodiff
import Datasets
import Foundation
import Networks
import Poisoning

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
/// after all steps, `norm_cap`: the update is scaled to norm R when longer;
/// - `spectral` / `clustering`: the detectors themselves are not differentiable, so the
///   crafter steps on the mix they screen (as `dilution` with their B) and the outer loss
///   gains `detection_penalty` × a feature-statistics term (`featurePenalty`) that keeps
///   each label's poison features at the first two moments of that class's clean features,
///   which is what both detectors test.
/// The validation gate is not differentiable and has no such proxy; a spec cannot craft
/// through it (AttackSpec.problem says so).
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
        guard weight != 0 else { return (theta, nil) }
        let terms = [d.filter.map { filterPenalty(start, steps: steps, real: real, batchLabels: batchLabels, fraction: $0) },
                     d.screened ? featurePenalty(start, steps: steps, real: real, batchLabels: batchLabels) : nil].compactMap { $0 }
        return (theta, terms.isEmpty ? nil : terms.dropFirst().reduce(terms[0], +) * weight)
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

    /// Mean over steps and the poison's labels c of Σ_d [(μ_d − m_d)² + (s_d − σ_d)²] / Σ_d σ_d²,
    /// μ and s the per-feature mean and standard deviation of the penultimate features of
    /// the poison rows labelled c (their target's argmax, as the screening groups them), m
    /// and σ those of the real batch's class-c images, all under the victim's start weights.
    /// Zero when, label by label, the poison's features have the clean class's first two
    /// moments; labels with fewer than two clean images in the batch are skipped.
    public func featurePenalty(_ start: [Tensor], steps: [InnerStep], real: Tensor, batchLabels: [Int]) -> Tensor {
        let weights = start.map { $0.detached() }
        let clean = GradientMode.withoutRecording { classifier.features(real, weights) }
        let perStep = steps.map { step -> Tensor in
            let features = classifier.features(step.images, weights)
            let k = step.targets.shape[1]
            let targets = step.targets.scalars
            let labels = (0..<step.images.shape[0]).map { r in (0..<k).max { targets[r * k + $0] < targets[r * k + $1] }! }
            let terms = Set(labels).sorted().compactMap { c -> Tensor? in
                let cleanRows = batchLabels.indices.filter { batchLabels[$0] == c }
                guard cleanRows.count >= 2 else { return nil }
                let (m, sigma) = GradientMode.withoutRecording { Self.moments(Self.rows(cleanRows, of: clean)) }
                let (mu, spread) = Self.moments(Self.rows(labels.indices.filter { labels[$0] == c }, of: features))
                let scale = 1 / max((sigma * sigma).sum().item, 1e-12)
                return (((mu - m) * (mu - m)).sum() + ((spread - sigma) * (spread - sigma)).sum()) * scale
            }
            return terms.isEmpty ? Tensor(0) : terms.dropFirst().reduce(terms[0], +) * (1 / Float(terms.count))
        }
        return perStep.dropFirst().reduce(perStep[0], +) * (1 / Float(steps.count))
    }

    /// The rows `indices` of the matrix `x`, differentiably (a product with a 0/1 selection).
    static func rows(_ indices: [Int], of x: Tensor) -> Tensor {
        var selection = [Float](repeating: 0, count: indices.count * x.shape[0])
        for (r, i) in indices.enumerated() { selection[r * x.shape[0] + i] = 1 }
        return matmul(Tensor(shape: [indices.count, x.shape[0]], scalars: selection), x)
    }

    /// Per-column mean and standard deviation (population, with a small floor inside the
    /// root so its gradient stays finite when a column is constant).
    static func moments(_ x: Tensor) -> (mean: Tensor, std: Tensor) {
        let mean = x.mean(alongAxes: [0])
        let centred = x - mean
        return (mean, sqrt((centred * centred).mean(alongAxes: [0]) + 1e-8))
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
    /// A feature-space detector screens the mix: its features are penalized.
    var screened = false

    init(_ defenses: [DefenseSpec]) {
        for defense in defenses {
            switch defense {
            case let .filter(f): filter = f
            case let .dilution(b): dilution = b
            case let .dpSGD(c, s): dpSGD = (c, s)
            case let .stepCap(e): stepCap = e
            case let .normCap(r): normCap = r
            case let .spectral(b, _), let .clustering(b, _): (dilution, screened) = (max(dilution ?? 0, b), true)
            case .gate: break   // refused by AttackSpec.problem
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
