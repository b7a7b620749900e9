import Autodiff
import Networks
import Poisoning

/// The victim chooses its own step size: the poison's steps at `factor` times the learned
/// step sizes (a probe of how much the attack depends on its step size).
public struct ScaledStep: VictimUpdate {
    public let factor: Float

    public init(factor: Float) { self.factor = factor }

    public var key: String { "step_x\(factor.shortText)" }
    public var description: String { "The victim steps at \(factor.shortText)× the learned step size." }

    public func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome {
        var scaled = poison
        scaled.stepSizes = poison.stepSizes.map { $0 * factor }
        return PlainUpdate().apply(parameters, poison: scaled, classifier: classifier)
    }
}
