import Foundation
import Vocabulary

/// The machine-readable record of one distillation run: `report.json`, schema
/// `amnesia.distill/1`. A distillation is judged by plain test accuracy after the
/// distilled steps, on the networks of its setting, beside real-image baselines of the
/// same size trained the same way; Markdown and HTML are rendered from this value alone.
public struct DistillReport: VersionedReport, Equatable, Sendable {
    public static let schemaID = "amnesia.distill/1"

    public var schema: String
    public var run: RunInfo
    /// One of `DistillSetting`'s names (`fixed-init`, `random-init`, `fixed-pretrained`,
    /// `random-pretrained`) and the sentence that explains it.
    public var setting: String
    public var settingDescription: String
    public var dataset: String
    public var classNames: [String]
    public var mean: [Double]
    public var std: [Double]
    /// The distilled set: file, grid, images, learned step sizes (one per step per epoch).
    public var poison: PoisonInfo
    public var steps: Int
    public var epochs: Int
    /// Which set of `results` the headline numbers come from: `known` (the fixed network
    /// of a fixed setting) or `heldout` (initializations never used while distilling).
    public var headline: String
    public var results: AttackResults
    /// Real-image baselines on the headline set, by name; each with its step size chosen on
    /// the crafting networks only.
    public var baselines: [String: BaselineResult]
    public var config: [String: String]
    /// What distilling cost: mean seconds per outer iteration and the process's peak
    /// resident memory when distilling ended (nil when not measured).
    public var secondsPerIteration: Double?
    public var peakMemoryMiB: Double?
    /// The papers' protocol (`evaluation: published`); nil when the spec did not ask for it.
    public var publishedEvaluation: PublishedEvaluationResult?

    enum CodingKeys: String, CodingKey {
        case schema, run, setting, settingDescription = "setting_description", dataset, classNames = "class_names"
        case mean, std, poison, steps, epochs, headline, results, baselines, config
        case secondsPerIteration = "seconds_per_iteration", peakMemoryMiB = "peak_memory_mib"
        case publishedEvaluation = "published_evaluation"
    }

    public init(run: RunInfo, setting: String, settingDescription: String, dataset: DatasetInfo, normalization: Normalization,
                poison: PoisonInfo, steps: Int, epochs: Int, headline: String, results: AttackResults,
                baselines: [String: BaselineResult], config: [String: String]) {
        schema = Self.schemaID
        (self.run, self.setting, self.settingDescription) = (run, setting, settingDescription)
        (self.dataset, classNames) = (dataset.name, dataset.classNames)
        (mean, std) = (normalization.mean.map(Double.init), normalization.std.map(Double.init))
        (self.poison, self.steps, self.epochs, self.headline) = (poison, steps, epochs, headline)
        (self.results, self.baselines, self.config) = (results, baselines, config)
    }

    /// The victim set the headline numbers come from.
    public var headlineSet: VictimSetResult { headline == "known" ? (results.known ?? results.heldout) : results.heldout }
}
