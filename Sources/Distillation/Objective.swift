import Autodiff
import Datasets
import Specs

/// What the outer loss asks of a network after the inner steps on the distilled data:
/// which real examples it is scored on and which labels it should then predict for them.
/// A new objective is one new file in `Objectives/` conforming to this, plus its case in
/// `ObjectiveKind` (how specs name it).
public protocol Objective: Sendable {
    /// The labels the outer loss wants for real examples of class `label`.
    func wantedLabel(_ label: Int) -> Int
    /// Indices into the training split for one real batch of `size` examples.
    func realBatch(size: Int, using rng: inout SeededGenerator) -> [Int]
    /// The outer loss's targets for the real examples at `batch`: [n, classes] rows.
    func outerTargets(_ batch: [Int]) -> Tensor
}

/// How a spec names its objective (`objective:`).
public enum ObjectiveKind: String, SpecChoice, Sendable {
    /// Forget class K: its real examples should be predicted as T after the step.
    case forget
    /// Plain distillation: the step should train the network on the real labels.
    case standard
}
