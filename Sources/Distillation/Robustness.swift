import Autodiff
import Foundation
import Networks
import Poisoning
import Specs
import Victims

/// Options that make the poison hold on victims crafting never saw (issue 13): the
/// `robustness:` section of an attack spec. Every option is off when absent, so a spec
/// without the section crafts exactly as before.
///
/// Where they act, in each outer iteration, per sampled victim θ0:
/// 1. the victim's start weights: `weight_augmentation` (random directions scaled to each
///    output unit's weight norm), then `sharpness_radius` (one ascent step that hurts the
///    poison most);
/// 2. the inner step: `augment` (random shifts / flips of the poison images, as
///    differentiable re-indexing) and `step_scale` (the victim's step is the learned one
///    times a log-uniform factor);
/// 3. the outer loss: `outer_loss: margin` (a hinge on the logit margin, so examples
///    already won stop pulling) and `retain_kl` (KL to the victim's own pre-step
///    predictions on the real examples outside class K) and `collateral_budget` (a per-victim
///    hinge on how much the other classes' cross-entropy grows, so only a victim the step
///    would wreck pays);
/// 4. combining victims: `victim_cvar` (only the worst share of the sampled victims).
public struct Robustness: Codable, Sendable, Equatable, StrictlyDecodable {
    /// [low, high]: each victim's inner step size is multiplied by a factor drawn
    /// log-uniformly from this range, so the poison works for steps around the learned one.
    public var stepScale: [Float]?
    /// Perturb each sampled victim along a random direction whose norm, per output unit
    /// (row of a weight, or a whole bias), is this fraction of that unit's weight norm.
    public var weightAugmentation: Float?
    /// Before the poison step, move each victim by this fraction of each tensor's norm
    /// along the (normalized, per tensor) gradient of the outer loss after the step: the
    /// nearby weights the poison works worst on (a first-order sharpness-aware step).
    public var sharpnessRadius: Float?
    /// `cross_entropy` (default) or `margin`: relu(κ − (z_t − LSE_{j≠t} z_j)) per example,
    /// with the smooth maximum over the other classes; κ is `margin`.
    public var outerLoss: OuterLoss = .crossEntropy
    public var margin: Float = 2
    /// Weight only the worst ⌈share · n⌉ of the n sampled victims (by outer loss), equally:
    /// CVaR over victims.
    public var victimCVaR: Float?
    /// Add this weight × KL(p_before ‖ p_after) over the real examples outside class K,
    /// p_before being the victim's own prediction before the poison step.
    public var retainKL: Float?
    /// Allowed growth, in nats, of each victim's mean cross-entropy on the real examples
    /// outside class K: beyond it the victim adds `collateral_weight` × the excess. A
    /// constraint per victim rather than a weight on the mean, because a victim is
    /// destroyed by its own collateral, whatever the others' is.
    public var collateralBudget: Float?
    public var collateralWeight: Float = 10
    /// Differentiable augmentation of the poison images inside the inner step.
    public var augment: Augment?
    /// Hold the last n crafting victims out of sampling as a validation split; every
    /// `validate_every` iterations score the poison on them (ASR minus the other classes'
    /// accuracy drop, on a fixed sample of training images) and keep the best poison.
    public var validationVictims: Int?
    public var validateEvery: Int = 100

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case stepScale = "step_scale", weightAugmentation = "weight_augmentation", sharpnessRadius = "sharpness_radius"
        case outerLoss = "outer_loss", margin, victimCVaR = "victim_cvar", retainKL = "retain_kl", augment
        case collateralBudget = "collateral_budget", collateralWeight = "collateral_weight"
        case validationVictims = "validation_victims", validateEvery = "validate_every"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var r = Robustness()
        r.stepScale = try c.decodeIfPresent([Float].self, forKey: .stepScale)
        r.weightAugmentation = try c.decodeIfPresent(Float.self, forKey: .weightAugmentation)
        r.sharpnessRadius = try c.decodeIfPresent(Float.self, forKey: .sharpnessRadius)
        r.outerLoss = try c.value(.outerLoss, or: r.outerLoss)
        r.margin = try c.value(.margin, or: r.margin)
        r.victimCVaR = try c.decodeIfPresent(Float.self, forKey: .victimCVaR)
        r.retainKL = try c.decodeIfPresent(Float.self, forKey: .retainKL)
        r.collateralBudget = try c.decodeIfPresent(Float.self, forKey: .collateralBudget)
        r.collateralWeight = try c.value(.collateralWeight, or: r.collateralWeight)
        r.augment = try c.decodeIfPresent(Augment.self, forKey: .augment)
        r.validationVictims = try c.decodeIfPresent(Int.self, forKey: .validationVictims)
        r.validateEvery = try c.value(.validateEvery, or: r.validateEvery)
        self = r
    }

    /// Whether the outer loss reads the victim's logits before the step.
    public var needsPreStepLogits: Bool { retainKL != nil || collateralBudget != nil }

    /// The first invalid value, named by its key.
    public var problem: String? {
        if let range = stepScale, !(range.count == 2 && range[0] > 0 && range[0] <= range[1] && range[1].isFinite) {
            return "robustness.step_scale must be [low, high] with 0 < low ≤ high, finite (got \(range))"
        }
        if let w = weightAugmentation, !(w >= 0 && w.isFinite) { return "robustness.weight_augmentation must be zero or positive and finite (got \(w))" }
        if let r = sharpnessRadius, !(r >= 0 && r.isFinite) { return "robustness.sharpness_radius must be zero or positive and finite (got \(r))" }
        if !(margin >= 0 && margin.isFinite) { return "robustness.margin must be zero or positive and finite (got \(margin))" }
        if let q = victimCVaR, !(q > 0 && q <= 1) { return "robustness.victim_cvar must be in (0, 1] (got \(q))" }
        if let k = retainKL, !(k >= 0 && k.isFinite) { return "robustness.retain_kl must be zero or positive and finite (got \(k))" }
        if let b = collateralBudget, !(b >= 0 && b.isFinite) {
            return "robustness.collateral_budget must be zero or positive and finite, in nats (got \(b))"
        }
        if !(collateralWeight >= 0 && collateralWeight.isFinite) {
            return "robustness.collateral_weight must be zero or positive and finite (got \(collateralWeight))"
        }
        if let a = augment, !(0...AttackLimits.augmentShift).contains(a.shift) {
            return "robustness.augment.shift must be 0…\(AttackLimits.augmentShift) pixels (got \(a.shift))"
        }
        if let n = validationVictims, !(1...AttackLimits.victimsPerIteration).contains(n) {
            return "robustness.validation_victims must be 1…\(AttackLimits.victimsPerIteration) (got \(n))"
        }
        if validateEvery < 1 { return "robustness.validate_every must be at least 1 (got \(validateEvery))" }
        return nil
    }
}

/// The outer loss on the real batch after the poison step (`robustness.outer_loss`).
public enum OuterLoss: String, SpecChoice, Sendable {
    /// Cross-entropy against the objective's labels.
    case crossEntropy = "cross_entropy"
    /// A hinge on the logit margin, so examples already won stop pulling.
    case margin
}

/// Random shifts (up to `shift` pixels each way, borders replicated) and left-right flips
/// (each image with probability one half when `flip`) of the poison images, drawn anew
/// for every victim and iteration, applied inside the inner step.
public struct Augment: Codable, Sendable, Equatable, StrictlyDecodable {
    public var shift: Int = 0
    public var flip: Bool = false

    public enum CodingKeys: String, CodingKey, CaseIterable { case shift, flip }

    public init(shift: Int = 0, flip: Bool = false) { (self.shift, self.flip) = (shift, flip) }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        shift = try c.value(.shift, or: 0)
        flip = try c.value(.flip, or: false)
    }

    /// `images` [N, C, H, W] shifted and flipped at random (differentiable).
    public func apply(_ images: Tensor, seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        let n = images.shape[0]
        let dy = (0..<n).map { _ in Int.random(in: -shift...shift, using: &rng) }
        let dx = (0..<n).map { _ in Int.random(in: -shift...shift, using: &rng) }
        let mirror = (0..<n).map { _ in flip && Bool.random(using: &rng) }
        return remapped(images, sourceOffsets: translationOffsets(shape: images.shape, dy: dy, dx: dx, flip: mirror),
                        shape: images.shape)
    }
}

// MARK: The hooks UnrolledSteps.iterate calls (one per stage above)

extension UnrolledSteps {
    /// Sub-seeds of a victim's per-iteration seed, one per random lever, independent of
    /// each other.
    static func leverSeed(_ seed: UInt64, _ lever: UInt64) -> UInt64 {
        var rng = SeededGenerator(seed: seed ^ (0xD1B5_4A32_D192_ED03 &* lever))
        return rng.next()
    }

    /// HOOK 1 — the weights the poison step starts from: the sampled victim, with
    /// `robustness.weight_augmentation` and `robustness.sharpness_radius`.
    func startWeights(_ victim: [Tensor], seed: UInt64, real: Tensor, wanted: Tensor, batchLabels: [Int],
                      steps: [InnerStep], stepSizes: [Tensor]) -> [Tensor] {
        var start = victim
        let r = spec.robustness
        if let scale = r.weightAugmentation, scale > 0 {
            start = Self.unitScaledPerturbation(start, by: scale, seed: Self.leverSeed(seed, 1))
        }
        if let radius = r.sharpnessRadius, radius > 0 {
            // On detached copies: the ascent is a constant move, outside the meta-gradient.
            start = sharpnessAscent(start.map { $0.detached() }, radius: radius, real: real, wanted: wanted, batchLabels: batchLabels,
                                    steps: steps.map { InnerStep(images: $0.images.detached(), targets: $0.targets.detached()) },
                                    stepSizes: stepSizes.map { $0.detached() })
        }
        return start
    }

    /// θ + ε · d with d a standard normal direction rescaled, per output unit (each row of
    /// a weight tensor's leading axis; a bias as a whole), to that unit's weight norm.
    public static func unitScaledPerturbation(_ parameters: [Tensor], by scale: Float, seed: UInt64) -> [Tensor] {
        var rng = SeededGenerator(seed: seed)
        return parameters.map { p in
            let values = p.scalars
            let rows = p.rank >= 2 ? p.shape[0] : 1
            let width = values.count / max(rows, 1)
            var out = values
            for r in 0..<rows {
                let range = (r * width)..<((r + 1) * width)
                let direction = range.map { _ in rng.nextNormal() }
                let dNorm = direction.map { $0 * $0 }.reduce(0, +).squareRoot()
                let wNorm = values[range].map { $0 * $0 }.reduce(0, +).squareRoot()
                guard dNorm > 0 else { continue }
                for (k, i) in range.enumerated() { out[i] += scale * wNorm / dNorm * direction[k] }
            }
            return Tensor(shape: p.shape, scalars: out)
        }
    }

    /// One ascent step on the victim's weights: the gradient of the outer loss after the
    /// (constant) poison step, taken at the stepped weights (first order), normalized per
    /// tensor and scaled to `radius` × that tensor's norm.
    func sharpnessAscent(_ theta0: [Tensor], radius: Float, real: Tensor, wanted: Tensor, batchLabels: [Int],
                         steps: [InnerStep], stepSizes: [Tensor]) -> [Tensor] {
        let stepped = unroll(classifier, from: theta0, steps: steps, stepSizes: stepSizes, epochs: spec.epochs, createGraph: false)
        let leaves = stepped.map { $0.requiringGradient() }
        let loss = outerLoss(classifier.logits(real, leaves), wanted: wanted, batchLabels: batchLabels, before: nil)
        let grads = gradients(of: loss, wrt: leaves)
        return GradientMode.withoutRecording { zip(theta0, grads).map { p, g in
            let gNorm = g.scalars.map { $0 * $0 }.reduce(0, +).squareRoot()
            let pNorm = p.scalars.map { $0 * $0 }.reduce(0, +).squareRoot()
            guard gNorm > 0 else { return p }
            return p + g * (radius * pNorm / gNorm)
        } }
    }

    /// HOOK 2a — the images of the inner step, augmented when `robustness.augment` is set.
    func innerImages(_ images: Tensor, seed: UInt64, step: Int) -> Tensor {
        guard let augment = spec.robustness.augment, augment.shift > 0 || augment.flip else { return images }
        return augment.apply(images, seed: Self.leverSeed(seed, 2 + UInt64(step)))
    }

    /// HOOK 2b — the factor on the inner step sizes for this victim (1 without `step_scale`).
    public func stepScaleFactor(seed: UInt64) -> Float {
        guard let range = spec.robustness.stepScale, range[1] > range[0] else { return spec.robustness.stepScale?[0] ?? 1 }
        var rng = SeededGenerator(seed: Self.leverSeed(seed, 100))
        let u = Float.random(in: 0..<1, using: &rng)
        return Foundation.exp(Foundation.log(range[0]) + u * (Foundation.log(range[1]) - Foundation.log(range[0])))
    }

    /// HOOK 3 — the outer loss of one victim after the poison step: cross-entropy or the
    /// margin hinge against `wanted` (one-hot rows, scaled by `retain_weight`), plus
    /// `retain_kl` × KL(before ‖ after) on the rows outside class K, and the
    /// `collateral_budget` hinge, when `before` (the victim's pre-step logits, constant) is
    /// given.
    public func outerLoss(_ logits: Tensor, wanted: Tensor, batchLabels: [Int], before: Tensor?) -> Tensor {
        let rows = Float(max(logits.shape[0], 1))
        var loss: Tensor
        if spec.robustness.outerLoss == .margin {
            loss = Self.marginLoss(logits, wanted: wanted, margin: spec.robustness.margin)
        } else {
            loss = crossEntropy(logits, targets: wanted)
        }
        if let weight = spec.robustness.retainKL, weight > 0, let before {
            let keep = Tensor(shape: [batchLabels.count, 1], scalars: batchLabels.map { $0 == forget ? 0 : 1 })
            let p = GradientMode.withoutRecording { exp(logSoftmax(before)) }
            let logP = GradientMode.withoutRecording { logSoftmax(before) }
            let kl = ((p * (logP - logSoftmax(logits))) * keep).sum() * (1 / rows)
            loss = loss + kl * weight
        }
        if let budget = spec.robustness.collateralBudget, let before {
            loss = loss + collateralExcess(after: logits, before: before, batchLabels: batchLabels, budget: budget)
                * spec.robustness.collateralWeight
        }
        return loss
    }

    /// relu(CE_after − CE_before − budget), with CE the mean cross-entropy against the true
    /// labels over the rows outside class K: zero while the step leaves the other classes
    /// within the budget.
    public func collateralExcess(after: Tensor, before: Tensor, batchLabels: [Int], budget: Float) -> Tensor {
        let kept = batchLabels.filter { $0 != forget }.count
        guard kept > 0 else { return Tensor(0) }
        let (mask, truth) = GradientMode.withoutRecording { () -> (Tensor, Tensor) in
            (Tensor(shape: [batchLabels.count, 1], scalars: batchLabels.map { $0 == forget ? 0 : 1 }),
             Tensor.oneHot(batchLabels, classes: after.shape[1]))
        }
        let scale = 1 / Float(kept)
        let ceAfter = -((truth * logSoftmax(after)) * mask).sum() * scale
        let ceBefore = GradientMode.withoutRecording { -((truth * logSoftmax(before)) * mask).sum() * scale }
        return relu(ceAfter - ceBefore - budget)
    }

    /// Mean over rows of relu(κ·w − (z_t − LSE_{j≠t} z_j)·w)… precisely: with w the row's
    /// weight (the sum of its `wanted` row) and t its target, w · relu(κ − margin), where
    /// margin = z_t − log Σ_{j≠t} exp z_j (a smooth maximum over the other classes).
    public static func marginLoss(_ logits: Tensor, wanted: Tensor, margin: Float) -> Tensor {
        let (n, k) = (logits.shape[0], logits.shape[1])
        let (weights, oneHot) = GradientMode.withoutRecording { () -> (Tensor, Tensor) in
            let w = wanted.sum(alongAxes: [1], keepingDims: true)
            let values = wanted.scalars
            let hot = Tensor(shape: [n, k]) { out in
                for r in 0..<n {
                    let row = values[(r * k)..<((r + 1) * k)]
                    let t = row.indices.max(by: { row[$0] < row[$1] }) ?? r * k
                    for j in 0..<k { out[r * k + j] = (r * k + j) == t ? 1 : 0 }
                }
            }
            return (w, hot)
        }
        // Row maxima as constants keep exp from overflowing; they cancel in the LSE.
        let peak = GradientMode.withoutRecording {
            Tensor(shape: [n, 1], scalars: (0..<n).map { r in logits.scalars[(r * k)..<((r + 1) * k)].max() ?? 0 })
        }
        let shifted = logits - peak
        let targetLogit = (shifted * oneHot).sum(alongAxes: [1], keepingDims: true)
        let others = log((exp(shifted) * (1 - oneHot)).sum(alongAxes: [1], keepingDims: true))
        let hinge = relu(margin - (targetLogit - others))
        return (hinge * weights).sum() * (1 / Float(max(n, 1)))
    }

    /// HOOK 4 — how much each victim's gradient counts: `robustness.victim_cvar` (the worst
    /// share, equally), else equally.
    func combinedVictimWeights(_ losses: [Float]) -> [Float] {
        guard let share = spec.robustness.victimCVaR else { return losses.map { _ in 1 / Float(losses.count) } }
        return Self.cvarWeights(losses, share: share)
    }

    /// 1/m on the m = ⌈share · n⌉ largest losses, 0 elsewhere.
    public static func cvarWeights(_ losses: [Float], share: Float) -> [Float] {
        let m = max(1, min(losses.count, Int((share * Float(losses.count)).rounded(.up))))
        let worst = Set(losses.indices.sorted { losses[$0] > losses[$1] }.prefix(m))
        return losses.indices.map { worst.contains($0) ? 1 / Float(m) : 0 }
    }
}

// MARK: Validation split (hooks 5 and 6)

/// The best poison seen on the validation split, and its score.
public struct BestPoison: Sendable {
    public var score: Float
    public var iteration: Int
    public var images: [Tensor]
    public var rho: [Float]
    public var labelLogits: [Tensor]
}

extension UnrolledSteps {
    /// HOOK 5 — the crafting victims sampled from: all but the validation split.
    public var samplingPool: [Int] {
        let held = min(spec.robustness.validationVictims ?? 0, max(victims.count - 1, 0))
        return Array(victims.indices.dropLast(held))
    }

    /// The validation split: the last `validation_victims` crafting victims.
    public var validationPool: [Int] { Array(victims.indices.dropFirst(samplingPool.count)) }

    /// HOOK 6 — after an iteration: every `validate_every` iterations (and at the last one)
    /// score the poison on the validation split and keep it in `state.best` if it is the best.
    func keepBest(_ state: inout State) {
        guard spec.robustness.validationVictims != nil, !validationPool.isEmpty,
              state.iteration % spec.robustness.validateEvery == 0 || state.iteration == spec.iterations else { return }
        let score = validationScore(state)
        if state.best == nil || score > state.best!.score {
            state.best = BestPoison(score: score, iteration: state.iteration, images: state.images, rho: state.rho,
                                    labelLogits: state.labelLogits)
        }
    }

    /// Mean over the validation victims of ASR − (other classes' accuracy drop), on a fixed
    /// sample of training images (up to 500 of class K and 1,000 others), one step at the
    /// learned step size.
    public func validationScore(_ state: State) -> Float {
        var rng = SeededGenerator(seed: spec.seed &+ 0x5EED)
        let byClass = data.train.indicesByClass()
        let k = Array(byClass[forget].shuffled(using: &rng).prefix(500))
        let others = Array(byClass.indices.filter { $0 != forget }.flatMap { byClass[$0] }.shuffled(using: &rng).prefix(1000))
        let (kImages, oImages) = (data.train.batch(k), data.train.batch(others))
        let oLabels = others.map { data.train.labels[$0] }
        let fixedTargets = Tensor.oneHot(stepLabels, classes: classes)
        let steps = GradientMode.withoutRecording {
            state.images.indices.map { s in
                InnerStep(images: state.images[s], targets: state.labelLogits.isEmpty ? fixedTargets : exp(logSoftmax(state.labelLogits[s])))
            }
        }
        let etas = Self.stepSizes(state.rho).map { Tensor($0) }
        // Not inside `withoutRecording`: the step needs its own loss's graph (without it the
        // gradient is zero, the victims never move and every poison scores alike).
        let scores = validationPool.map { v -> Float in
            let theta = unroll(classifier, from: victims[v], steps: steps, stepSizes: etas, epochs: spec.epochs, createGraph: false)
            let asr = Float(classifier.predictions(kImages, theta).filter { $0 == target }.count) / Float(max(k.count, 1))
            func accuracy(_ p: [Tensor]) -> Float {
                Float(zip(classifier.predictions(oImages, p), oLabels).filter { $0 == $1 }.count) / Float(max(others.count, 1))
            }
            return asr - (accuracy(victims[v]) - accuracy(theta))
        }
        return scores.reduce(0, +) / Float(max(scores.count, 1))
    }

    /// HOOK 7 — the state a poison set is made from: the best validated one if any.
    func finalState(_ state: State) -> State {
        guard let best = state.best else { return state }
        var chosen = state
        (chosen.images, chosen.rho, chosen.labelLogits) = (best.images, best.rho, best.labelLogits)
        return chosen
    }
}
