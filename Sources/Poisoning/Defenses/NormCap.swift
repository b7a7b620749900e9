import Autodiff
import Networks
import Specs

/// `norm_cap: {max: R}`: trust region on the update. Adaptive form: after the crafter's
/// steps, the update is scaled to norm R when longer, differentiably.
public struct NormCapDefense: Defense, AdaptiveDefense {
    public static let name = "norm_cap"
    public static let form = "norm_cap:max=R"
    public let max: Float

    public init(max: Float) { self.max = max }

    public init(parameters: DefenseParameters) throws(SpecError) {
        max = try parameters.positive(parameters.take(["max"], form: Self.form)[0], "max")
    }

    public var parameters: [String: Float] { ["max": max] }
    public func update(in environment: DefenseEnvironment) -> any VictimUpdate { NormCap(max: max) }
    public var adaptive: (any AdaptiveDefense)? { self }
    public func finalParameters(_ theta: [Tensor], start: [Tensor]) -> [Tensor] { normCapped(theta, from: start, max: max) }
}

extension DefenseSpec {
    /// Trust region: the update's norm over all parameters is at most `max`.
    public static func normCap(max: Float) -> DefenseSpec { DefenseSpec(NormCapDefense(max: max)) }
}

/// Trust region: the update θ₁ − θ₀ is scaled down to norm `max` (over all parameters)
/// when it is longer.
public struct NormCap: VictimUpdate {
    public let max: Float

    public init(max: Float) { self.max = max }

    public var key: String { DefenseSpec.normCap(max: max).key }
    public var description: String { "Norm cap: the update's norm over all parameters is at most \(max)." }

    public func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome {
        let updated = PlainUpdate.step(parameters, poison: poison, classifier: classifier)
        let deltas = zip(updated, parameters).map { zip($0.scalars, $1.scalars).map { $0 - $1 } }
        let norm = deltas.reduce(Float(0)) { $0 + $1.reduce(0) { $0 + $1 * $1 } }.squareRoot()
        guard norm > max else { return UpdateOutcome(parameters: updated) }
        let scale = max / norm
        return UpdateOutcome(parameters: zip(parameters, deltas).map { p, d in
            Tensor(shape: p.shape, scalars: zip(p.scalars, d).map { $0 + $1 * scale })
        })
    }
}

/// θ₀ + (θ − θ₀) · R / max(‖θ − θ₀‖, R): the trust region that scales an update longer
/// than R (over all parameters) down to R, differentiable. max(a, R) = R + relu(a − R).
public func normCapped(_ theta: [Tensor], from start: [Tensor], max radius: Float) -> [Tensor] {
    let deltas = zip(theta, start).map { $0 - $1 }
    let squared = deltas.dropFirst().reduce((deltas[0] * deltas[0]).sum()) { $0 + ($1 * $1).sum() }
    let norm = sqrt(squared + 1e-12)
    let factor = Tensor(radius) / (radius + relu(norm - radius))
    return zip(start, deltas).map { $0 + $1 * factor }
}
