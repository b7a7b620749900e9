import Autodiff
import Datasets
import Networks
import Specs
import Victims
import Vocabulary

/// `gate: {max_drop: D}`: RONI-style validation gate. Not differentiable and with no
/// surrogate, so it has no adaptive form: a spec cannot craft through it.
public struct GateDefense: Defense {
    public static let name = "gate"
    public static let form = "gate:max_drop=D"
    public let maxDrop: Float

    public init(maxDrop: Float) { self.maxDrop = maxDrop }

    public init(parameters: DefenseParameters) throws(SpecError) {
        maxDrop = Float(try parameters.take(["max_drop"], form: Self.form)[0])
    }

    public var parameters: [String: Float] { ["max_drop": maxDrop] }
    public func update(in environment: DefenseEnvironment) -> any VictimUpdate {
        ValidationGate(maxDrop: maxDrop, validation: environment.validation)
    }
    public var adaptive: (any AdaptiveDefense)? { nil }
}

extension DefenseSpec {
    /// The victim keeps its old weights when the update lowers its accuracy on clean
    /// validation images by more than `maxDrop`, overall or on any class.
    public static func gate(maxDrop: Float) -> DefenseSpec { DefenseSpec(GateDefense(maxDrop: maxDrop)) }
}

/// RONI-style gate: the victim takes the update only if its accuracy on clean validation
/// images drops by at most `maxDrop`, overall and on every class; otherwise it keeps its
/// weights (and the outcome says it refused).
public struct ValidationGate: VictimUpdate {
    public let maxDrop: Float
    /// Clean images the victim validates on (never the test split the results use).
    public let validation: LabeledImages

    public init(maxDrop: Float, validation: LabeledImages) {
        (self.maxDrop, self.validation) = (maxDrop, validation)
    }

    public var key: String { DefenseSpec.gate(maxDrop: maxDrop).key }
    public var description: String {
        "Validation gate: the update is refused if clean validation accuracy drops more than \(maxDrop) overall or on any class."
    }

    public func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome {
        let updated = PlainUpdate.step(parameters, poison: poison, classifier: classifier)
        let before = accuracy(parameters, classifier), after = accuracy(updated, classifier)
        let dropped = zip([before.accuracy] + before.perClassAccuracy, [after.accuracy] + after.perClassAccuracy)
            .contains { $0 - $1 > Double(maxDrop) }
        return dropped ? UpdateOutcome(parameters: parameters, accepted: false) : UpdateOutcome(parameters: updated)
    }

    private func accuracy(_ parameters: [Tensor], _ classifier: any Classifier) -> Confusion {
        Confusion(predictions: Trainer.predictions(classifier, parameters, on: validation), labels: validation.labels,
                  classes: classifier.classes)
    }
}
