import Autodiff
import Networks
import Results

/// How a victim takes a poison's update. The plain update is the poison's own steps with
/// its own step sizes; everything applied between a poison and the victim's update (a
/// robustness probe such as a rescaled step or an 8-bit PNG round trip, and the defenses a
/// victim could deploy: clipping, filtering, dilution, a validation gate) conforms to
/// this protocol, so the evaluator scores each the same way. A new probe or defense is
/// one new file in `Updates/`.
public protocol VictimUpdate: Sendable {
    /// A short stable key that names the result in reports, e.g. `step_x0.5`.
    var key: String { get }
    /// One sentence a report can show.
    var description: String { get }
    /// The victim's parameters after it takes `poison`'s update this way.
    func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome
}

/// What a victim ends with after an update.
public struct UpdateOutcome: Sendable {
    public var parameters: [Tensor]
    /// False when a defense refused the update (the victim kept its weights).
    public var accepted: Bool
    /// For a detector: what it flagged, poison and clean, before the victim stepped.
    public var detection: DetectionCounts?

    public init(parameters: [Tensor], accepted: Bool = true, detection: DetectionCounts? = nil) {
        (self.parameters, self.accepted, self.detection) = (parameters, accepted, detection)
    }
}

/// The poison's steps as they are, with its learned step sizes.
public struct PlainUpdate: VictimUpdate {
    public init() {}
    public var key: String { "plain" }
    public var description: String { "The poison's steps with its learned step sizes." }

    public func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome {
        UpdateOutcome(parameters: Self.step(parameters, poison: poison, classifier: classifier))
    }

    /// `parameters` after every step of every epoch of `poison` (no graph kept).
    public static func step(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> [Tensor] {
        let steps = (0..<poison.steps).map { s in
            let (x, targets) = poison.step(s, classes: classifier.classes)
            return InnerStep(images: x, targets: targets)
        }
        return unroll(classifier, from: parameters, steps: steps, stepSizes: poison.stepSizes.map { Tensor($0) },
                      epochs: poison.epochs, createGraph: false)
    }
}
