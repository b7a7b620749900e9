import Autodiff
import Datasets
import Foundation
import Networks
import Poisoning
import Results
import Victims
import Vocabulary

/// A victim to evaluate: its identity and weights.
public struct EvaluatedVictim: Sendable {
    public let id: String
    public let role: VictimRole
    public let seed: UInt64
    public let parameters: [Tensor]

    public init(id: String, role: VictimRole, seed: UInt64, parameters: [Tensor]) {
        (self.id, self.role, self.seed, self.parameters) = (id, role, seed, parameters)
    }
}

/// Applies poison updates to victims and measures, before and after, how each class is
/// predicted on a labelled set (the test split by default).
public struct Evaluator: Sendable {
    public let classifier: any Classifier
    public let images: LabeledImages
    public let forget: Int
    public let target: Int

    public init(classifier: any Classifier, images: LabeledImages, forget: Int, target: Int) {
        (self.classifier, self.images, self.forget, self.target) = (classifier, images, forget, target)
    }

    /// Metrics of `parameters` on the evaluation images.
    public func metrics(_ parameters: [Tensor]) -> ClassMetrics {
        ClassMetrics.compute(predictions: Trainer.predictions(classifier, parameters, on: images),
                             labels: images.labels, classes: classifier.classes, forget: forget, target: target)
    }

    /// Every victim's metrics as it is, before any poison.
    public func baseline(_ victims: [EvaluatedVictim], workers: Int = 2) -> [ClassMetrics] {
        parallelMap(victims, workers: workers) { metrics($0.parameters) }
    }

    /// Every victim before and after taking `poison`'s update the way `update` says (nil
    /// poison: the no-poison control, after = before). `before`, from `baseline(_:)`, saves
    /// measuring the unpoisoned victims again.
    public func evaluate(_ victims: [EvaluatedVictim], poison: PoisonSet?, update: any VictimUpdate = PlainUpdate(),
                         before: [ClassMetrics]? = nil, workers: Int = 2) -> UpdateResult {
        let before = before ?? baseline(victims, workers: workers)
        let after = poison.map { poison in
            parallelMap(victims, workers: workers) { victim in
                let outcome = update.apply(victim.parameters, poison: poison, classifier: classifier)
                return (metrics(outcome.parameters), outcome.accepted, outcome.detection)
            }
        } ?? before.map { ($0, true, nil) }
        return UpdateResult(key: update.key, description: update.description, accepted: after.filter(\.1).count,
                            victims: VictimSetResult(victims: victims.indices.map { i in
            VictimResult(id: victims[i].id, role: victims[i].role, seed: victims[i].seed, before: before[i], after: after[i].0)
        }, forget: forget), detections: after.compactMap(\.2))
    }

    /// Checks that a poison set can be applied to these victims, with what to do if not.
    public func check(_ poison: PoisonSet) throws {
        guard poison.metadata.mean.count == poison.imageShape[0], poison.metadata.std.count == poison.imageShape[0] else {
            throw PoisonError("the poison's normalization has \(poison.metadata.mean.count) means and \(poison.metadata.std.count) stds for \(poison.imageShape[0]) image channels; give one per channel")
        }
        guard poison.imageShape == classifier.inputShape else {
            throw PoisonError("the poison's images are \(poison.imageShape) but the victims take \(classifier.inputShape); craft it for this zoo's dataset")
        }
        if let soft = poison.softLabels, soft.shape[1] != classifier.classes {
            throw PoisonError("the poison's soft labels have \(soft.shape[1]) classes but the victims have \(classifier.classes)")
        }
        guard let bad = poison.labels.first(where: { !(0..<classifier.classes).contains($0) }) else { return }
        throw PoisonError("the poison has label \(bad) but the victims have \(classifier.classes) classes")
    }
}
