import Autodiff
import Datasets
import Networks
import Victims

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
