import Autodiff
import Networks

/// The victim caps its step size: every step uses min(learned step size, `max`).
public struct StepCap: VictimUpdate {
    public let max: Float

    public init(max: Float) { self.max = max }

    public var key: String { DefenseSpec.stepCap(max: max).key }
    public var description: String { "Step cap: the victim's step size is at most \(max)." }

    public func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome {
        var capped = poison
        capped.stepSizes = poison.stepSizes.map { Swift.min($0, max) }
        return PlainUpdate().apply(parameters, poison: capped, classifier: classifier)
    }
}
