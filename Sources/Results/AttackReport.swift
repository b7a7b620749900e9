import Foundation
import Vocabulary

/// Where the poison set lives and what was learned.
public struct PoisonInfo: Codable, Equatable, Sendable {
    /// The poison set's safetensors file name (relative to the report directory).
    public var file: String
    /// The PNG grid of the poison images (relative to the report directory), if one was written.
    public var gridPNG: String?
    /// Number of poison images.
    public var images: Int
    /// Learned step sizes, one per step and epoch.
    public var learnedStepSizes: [Double]

    enum CodingKeys: String, CodingKey {
        case file
        case gridPNG = "grid_png"
        case images
        case learnedStepSizes = "learned_step_sizes"
    }

    /// Memberwise initializer.
    public init(file: String, gridPNG: String?, images: Int, learnedStepSizes: [Double]) {
        self.file = file
        self.gridPNG = gridPNG
        self.images = images
        self.learnedStepSizes = learnedStepSizes
    }
}

/// The attack's results per victim set.
public struct AttackResults: Codable, Equatable, Sendable {
    /// Victims never seen while crafting: the headline numbers.
    public var heldout: VictimSetResult
    /// The known victim (fixed knowledge only).
    public var known: VictimSetResult?
    /// The crafting zoo (optional; optimistic by construction).
    public var crafting: VictimSetResult?
    /// Held-out victims trained with recipes the crafting zoo never used (another learning
    /// rate, schedule, epochs, initialization…): how the poison holds on models trained
    /// elsewhere.
    public var foreign: VictimSetResult?

    /// Memberwise initializer.
    public init(heldout: VictimSetResult, known: VictimSetResult? = nil, crafting: VictimSetResult? = nil,
                foreign: VictimSetResult? = nil) {
        self.heldout = heldout
        self.known = known
        self.crafting = crafting
        self.foreign = foreign
    }

    /// The sets that are present, in reporting order, with their JSON names.
    public var namedSets: [(name: String, set: VictimSetResult)] {
        var sets: [(name: String, set: VictimSetResult)] = [("heldout", heldout)]
        if let foreign { sets.append(("foreign", foreign)) }
        if let known { sets.append(("known", known)) }
        if let crafting { sets.append(("crafting", crafting)) }
        return sets
    }
}

/// The machine-readable record of one attack run: `report.json`, schema `amnesia.report/1`.
///
/// Markdown, HTML and CSV are all rendered from this value alone (plus PNGs), so a report can
/// be re-rendered later (`amnesia report RUN_DIR`) without re-running anything.
public struct AttackReport: VersionedReport, Equatable, Sendable {
    /// The schema id this build writes and reads. Bump it on any incompatible change.
    public static let schemaID = "amnesia.report/1"

    /// Always `AttackReport.schemaID` for values built by this code.
    public var schema: String
    /// Run identity, timings and seed.
    public var run: RunInfo
    /// The threat model.
    public var threatModel: ThreatModel
    /// The dataset the victims were trained and tested on.
    public var dataset: DatasetInfo
    /// The normalization of the victims' inputs (and of the poison's images).
    public var normalization: Normalization
    /// The poison set.
    public var poison: PoisonInfo
    /// Attack results per victim set.
    public var results: AttackResults
    /// Controls (e.g. "no_poison", "random_real", "kmeans", "class_means"), by name.
    public var baselines: [String: BaselineResult]
    /// Robustness probes over the held-out victims: "asr_step_x0.5" is the ASR at half the
    /// step size, "other_drop_step_x0.5" the other classes' accuracy drop there (also "step_x2",
    /// "png_8bit").
    public var robustness: [String: Stat]?
    /// The poison and its controls under each defense the victims deployed, in spec order.
    public var defenses: [DefenseReport]?
    /// The resolved config, flattened to `key.path → value` strings.
    public var config: [String: String]

    /// Builds a report with the current schema id.
    public init(run: RunInfo, threatModel: ThreatModel, dataset: DatasetInfo, normalization: Normalization,
                poison: PoisonInfo, results: AttackResults, baselines: [String: BaselineResult] = [:],
                robustness: [String: Stat]? = nil, defenses: [DefenseReport]? = nil, config: [String: String] = [:]) {
        self.schema = AttackReport.schemaID
        self.run = run
        self.threatModel = threatModel
        self.dataset = dataset
        self.normalization = normalization
        self.poison = poison
        self.results = results
        self.baselines = baselines
        self.robustness = robustness
        self.defenses = defenses
        self.config = config
    }
}

/// The poison under one defense: how many victims took the update, what it did to them,
/// and the controls under the same defense.
public struct DefenseReport: Codable, Equatable, Sendable {
    /// `name:parameters`, e.g. `gate:max_drop=0.02`.
    public var key: String
    public var description: String
    /// Victims that took the update (a gate refuses some), of `victims`.
    public var accepted: Int
    public var victims: Int
    public var summary: VictimSetSummary
    /// The controls' summaries under the same defense, by control name.
    public var controls: [String: VictimSetSummary]
    /// For a detector: its rates on the poison vs the clean images it was mixed with.
    public var detection: DetectionReport?

    public init(key: String, description: String, accepted: Int, victims: Int, summary: VictimSetSummary,
                controls: [String: VictimSetSummary], detection: DetectionReport? = nil) {
        (self.key, self.description, self.accepted, self.victims) = (key, description, accepted, victims)
        (self.summary, self.controls, self.detection) = (summary, controls, detection)
    }
}

/// report.json's layout, a contract: the dataset and its normalization are one object
/// `dataset` (`name`, `class_names`, `mean`, `std`), the statistics written as doubles.
extension AttackReport {
    enum CodingKeys: String, CodingKey {
        case schema, run
        case threatModel = "threat_model"
        case dataset, poison, results, baselines, robustness, defenses, config
    }

    enum DatasetKeys: String, CodingKey {
        case name
        case classNames = "class_names"
        case mean, std
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schema = try c.decode(String.self, forKey: .schema)
        run = try c.decode(RunInfo.self, forKey: .run)
        threatModel = try c.decode(ThreatModel.self, forKey: .threatModel)
        let d = try c.nestedContainer(keyedBy: DatasetKeys.self, forKey: .dataset)
        dataset = DatasetInfo(name: try d.decode(String.self, forKey: .name),
                              classNames: try d.decode([String].self, forKey: .classNames))
        normalization = Normalization(mean: try d.decode([Double].self, forKey: .mean).map(Float.init),
                                      std: try d.decode([Double].self, forKey: .std).map(Float.init))
        poison = try c.decode(PoisonInfo.self, forKey: .poison)
        results = try c.decode(AttackResults.self, forKey: .results)
        baselines = try c.decode([String: BaselineResult].self, forKey: .baselines)
        robustness = try c.decodeIfPresent([String: Stat].self, forKey: .robustness)
        defenses = try c.decodeIfPresent([DefenseReport].self, forKey: .defenses)
        config = try c.decode([String: String].self, forKey: .config)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        var d = c.nestedContainer(keyedBy: DatasetKeys.self, forKey: .dataset)
        try c.encode(schema, forKey: .schema)
        try c.encode(run, forKey: .run)
        try c.encode(threatModel, forKey: .threatModel)
        try d.encode(dataset.name, forKey: .name)
        try d.encode(dataset.classNames, forKey: .classNames)
        try d.encode(normalization.mean.map(Double.init), forKey: .mean)
        try d.encode(normalization.std.map(Double.init), forKey: .std)
        try c.encode(poison, forKey: .poison)
        try c.encode(results, forKey: .results)
        try c.encode(baselines, forKey: .baselines)
        try c.encodeIfPresent(robustness, forKey: .robustness)
        try c.encodeIfPresent(defenses, forKey: .defenses)
        try c.encode(config, forKey: .config)
    }
}
