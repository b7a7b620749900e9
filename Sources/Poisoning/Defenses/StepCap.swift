import Autodiff
import Networks
import Specs

/// `step_cap: {max: E}`: the victim caps its step size. Adaptive form: the crafter's step
/// size is min(η, E), differentiably.
public struct StepCapDefense: Defense, AdaptiveDefense {
    public static let name = "step_cap"
    public static let form = "step_cap:max=E"
    public let max: Float

    public init(max: Float) { self.max = max }

    public init(parameters: DefenseParameters) throws(SpecError) {
        max = try parameters.positive(parameters.take(["max"], form: Self.form)[0], "max")
    }

    public var parameters: [String: Float] { ["max": max] }
    public func update(in environment: DefenseEnvironment) -> any VictimUpdate { StepCap(max: max) }
    public var adaptive: (any AdaptiveDefense)? { self }
    public func stepSize(_ eta: Tensor) -> Tensor { cappedStepSize(eta, max: max) }
}

extension DefenseSpec {
    /// The victim caps its step size at `max`.
    public static func stepCap(max: Float) -> DefenseSpec { DefenseSpec(StepCapDefense(max: max)) }
}

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

/// min(η, cap) as η − relu(η − cap): the step-size cap, differentiable (zero gradient to η
/// once capped).
public func cappedStepSize(_ eta: Tensor, max cap: Float) -> Tensor { eta - relu(eta - cap) }
