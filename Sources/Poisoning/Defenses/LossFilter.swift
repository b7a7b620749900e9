import Autodiff
import Networks

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
            let losses = GradientMode.withoutRecording {
                (-(logSoftmax(classifier.logits(images, parameters)) * targets).sum(alongAxes: [1])).scalars
            }
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
