import Autodiff
import Networks

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
