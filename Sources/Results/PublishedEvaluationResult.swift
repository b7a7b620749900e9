import Foundation

/// A distilled set and its real-image controls under the DC/DSA/DM papers' evaluation
/// protocol (`evaluation: published`): test accuracy of fresh networks trained on each set
/// to convergence, one entry per network seed, in `seeds` order.
public struct PublishedEvaluationResult: Codable, Equatable, Sendable {
    /// The protocol in one sentence (network, epochs, optimizer, augmentation); the
    /// networks are `seeds`, so the sentence (part of each saved score's key) leaves out their count.
    public var recipe: String
    public var seeds: [UInt64]
    public var distilled: [Double]
    /// By control key (`random_real`, `kmeans`, `class_means`); empty when not run.
    public var controls: [String: [Double]]
    public var seconds: Double

    enum CodingKeys: String, CodingKey { case recipe, seeds, distilled, controls, seconds }

    public init(recipe: String, seeds: [UInt64], distilled: [Double], controls: [String: [Double]], seconds: Double) {
        (self.recipe, self.seeds, self.distilled, self.controls, self.seconds) = (recipe, seeds, distilled, controls, seconds)
    }

    /// Mean ± std (population, as every other summary) of each set's accuracies.
    public var distilledSummary: Stat { Stat(distilled) }
    public var controlSummaries: [String: Stat] { controls.mapValues(Stat.init) }
}
