import Autodiff
import Networks
import Specs

/// `filter: {fraction: F}`: loss filtering. Adaptive form: the rows the victim would drop
/// (highest loss under its start weights) get weight 0, and the outer loss gains a hinge on
/// the poison's losses above the clean losses' (1 − F) quantile, so they stay inside the
/// clean range.
public struct FilterDefense: Defense, AdaptiveDefense {
    public static let name = "filter"
    public static let form = "filter:fraction=F"
    public let fraction: Float

    public init(fraction: Float) { self.fraction = fraction }

    public init(parameters: DefenseParameters) throws(SpecError) {
        fraction = try parameters.dropFraction(parameters.take(["fraction"], form: Self.form)[0])
    }

    public var parameters: [String: Float] { ["fraction": fraction] }
    public func update(in environment: DefenseEnvironment) -> any VictimUpdate { LossFilter(fraction: fraction) }
    public var adaptive: (any AdaptiveDefense)? { self }

    public func poisonWeights(_ weights: [Float], step: InnerStep, start: [Tensor], classifier: any Classifier) -> [Float] {
        let m = step.images.shape[0]
        let losses = rowLosses(classifier, step.images.detached(), step.targets.detached(), start.map { $0.detached() })
        let drop = min(m - 1, Int((Float(m) * fraction).rounded()))
        var weights = weights
        for r in losses.indices.sorted(by: { losses[$0] > losses[$1] }).prefix(drop) { weights[r] = 0 }
        return weights
    }

    /// Mean over steps and poison images of relu(ℓᵢ − q), ℓᵢ the image's loss under its
    /// (soft) label with the victim's start weights and q the (1 − fraction) quantile of the
    /// real batch's losses under their true labels: zero while no poison image looks more
    /// suspicious than the clean images a loss filter keeps.
    public func penalty(_ scene: PenaltyScene) -> Tensor? {
        let (classifier, steps) = (scene.classifier, scene.steps)
        let weights = scene.start.map { $0.detached() }
        let cleanLosses = rowLosses(classifier, scene.real, .oneHot(scene.batchLabels, classes: classifier.classes), weights).sorted()
        let q = cleanLosses[min(cleanLosses.count - 1, Int(Float(cleanLosses.count) * (1 - fraction)))]
        let perStep = steps.map { step in
            let losses = -(logSoftmax(classifier.logits(step.images, weights)) * step.targets).sum(alongAxes: [1])
            return relu(losses - q).sum() * (1 / Float(step.images.shape[0]))
        }
        return perStep.dropFirst().reduce(perStep[0], +) * (1 / Float(steps.count))
    }
}

extension DefenseSpec {
    /// The victim drops the `fraction` of poison images it finds most suspicious (highest
    /// loss under their labels) before stepping.
    public static func filter(fraction: Float) -> DefenseSpec { DefenseSpec(FilterDefense(fraction: fraction)) }
}

/// Loss filtering: before stepping, the victim scores every poison image by its loss under
/// the given label (soft labels: their cross-entropy) with its current weights and drops
/// the `fraction` it finds most suspicious (highest loss) from each step.
public struct LossFilter: VictimUpdate {
    public let fraction: Float

    public init(fraction: Float) { self.fraction = fraction }

    public var key: String { DefenseSpec.filter(fraction: fraction).key }
    public var description: String {
        "Loss filter: the victim drops the \(Int((fraction * 100).rounded()))% of poison images with the highest loss before stepping."
    }

    public func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome {
        let kept = Self.filtered(poison, fraction: fraction, parameters: parameters, classifier: classifier)
        return PlainUpdate().apply(parameters, poison: kept, classifier: classifier)
    }

    /// `poison` without the `fraction` of each step's images that lose most under `parameters`.
    public static func filtered(_ poison: PoisonSet, fraction: Float, parameters: [Tensor], classifier: any Classifier) -> PoisonSet {
        let perStep = poison.imagesPerStep
        let keep = max(1, perStep - Int((Float(perStep) * fraction).rounded()))
        return poison.replacingSteps(classes: classifier.classes) { _, images, targets in
            let losses = rowLosses(classifier, images, targets, parameters)
            let rows = losses.indices.sorted { losses[$0] < losses[$1] }.prefix(keep).sorted()
            return (images.rows(rows), targets.rows(rows))
        }
    }
}

extension Tensor {
    /// The leading-axis rows at `indices`, in that order (not differentiable: for defenses
    /// that pick images, not for crafting).
    func rows(_ indices: some Collection<Int>) -> Tensor {
        let size = shape.dropFirst().reduce(1, *)
        let source = scalars
        return Tensor(shape: [indices.count] + shape.dropFirst()) { out in
            for (r, i) in indices.enumerated() {
                for j in 0..<size { out[r * size + j] = source[i * size + j] }
            }
        }
    }
}
