import Foundation

/// Identity and provenance of one run: enough to find, date and reproduce it.
public struct RunInfo: Codable, Equatable, Sendable {
    /// Run name; carries a short hash of the resolved config (same config, same name).
    public var name: String
    /// Creation time as an ISO-8601 string (see `RunInfo.timestamp(_:)`).
    public var created: String
    /// Version of amnesia that produced the run.
    public var amnesiaVersion: String
    /// Master seed from which every random draw of the run derives.
    public var seed: UInt64
    /// Wall-clock seconds per phase (e.g. "craft", "evaluate").
    public var timingsSeconds: [String: Double]

    enum CodingKeys: String, CodingKey {
        case name, created
        case amnesiaVersion = "amnesia_version"
        case seed
        case timingsSeconds = "timings_seconds"
    }

    /// Memberwise initializer.
    public init(name: String, created: String, amnesiaVersion: String, seed: UInt64,
                timingsSeconds: [String: Double] = [:]) {
        self.name = name
        self.created = created
        self.amnesiaVersion = amnesiaVersion
        self.seed = seed
        self.timingsSeconds = timingsSeconds
    }

    /// Formats `date` as ISO-8601 in UTC (e.g. "2025-01-31T12:00:00Z"), the format of `created`.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}

/// What the attacker knows about the victim's weights.
public enum AttackerKnowledge: String, Codable, Sendable, CaseIterable {
    /// White-box: the exact victim weights are known.
    case fixed
    /// The weights are unknown but drawn from a known distribution (architecture, data, recipe).
    case distribution
}

/// The threat model, stated in every report so a reader knows exactly what was claimed.
public struct ThreatModel: Codable, Equatable, Sendable {
    /// The MITRE ATLAS techniques this attack instantiates.
    public static let atlasTechniques = ["AML.T0020", "AML.T0018.000"]

    /// What the attacker knows about the victim's weights.
    public var knowledge: AttackerKnowledge
    /// Class K, whose test images should be predicted as T after the step.
    public var forgetClass: Int
    /// Class T.
    public var targetClass: Int
    /// Human name of K.
    public var forgetName: String
    /// Human name of T.
    public var targetName: String
    /// Number of poison images M.
    public var poisonImages: Int
    /// Gradient steps per epoch over the poison.
    public var steps: Int
    /// Epochs over the poison.
    public var epochs: Int
    /// MITRE ATLAS technique ids.
    public var atlas: [String]
    /// One plain-English paragraph stating the threat model.
    public var summary: String

    enum CodingKeys: String, CodingKey {
        case knowledge
        case forgetClass = "forget_class"
        case targetClass = "target_class"
        case forgetName = "forget_name"
        case targetName = "target_name"
        case poisonImages = "poison_images"
        case steps, epochs, atlas, summary
    }

    /// Creates a threat model; `summary` defaults to `ThreatModel.describe(...)` of the same values
    /// and `atlas` to `ThreatModel.atlasTechniques`.
    public init(knowledge: AttackerKnowledge, forgetClass: Int, targetClass: Int,
                forgetName: String, targetName: String, poisonImages: Int,
                steps: Int = 1, epochs: Int = 1,
                atlas: [String] = ThreatModel.atlasTechniques, summary: String? = nil) {
        self.knowledge = knowledge
        self.forgetClass = forgetClass
        self.targetClass = targetClass
        self.forgetName = forgetName
        self.targetName = targetName
        self.poisonImages = poisonImages
        self.steps = steps
        self.epochs = epochs
        self.atlas = atlas
        self.summary = summary ?? ThreatModel.describe(
            knowledge: knowledge, forgetClass: forgetClass, targetClass: targetClass,
            forgetName: forgetName, targetName: targetName, poisonImages: poisonImages,
            steps: steps, epochs: epochs)
    }

    /// The standard plain-English paragraph for these parameters, so every report says the
    /// threat model the same way.
    public static func describe(knowledge: AttackerKnowledge, forgetClass: Int, targetClass: Int,
                                forgetName: String, targetName: String, poisonImages: Int,
                                steps: Int, epochs: Int) -> String {
        let updates = steps * epochs
        let stepWords = updates == 1 ? "one gradient-descent step" : "\(updates) gradient-descent steps"
        let knowledgeWords: String
        switch knowledge {
        case .fixed:
            knowledgeWords = "The attacker knows the exact victim weights (white-box, fixed knowledge): "
                + "the poison is crafted on that network, and its transfer to held-out victims "
                + "it never saw is measured as well."
        case .distribution:
            knowledgeWords = "The attacker does not know the victim's weights, only the distribution "
                + "they come from (same architecture, data and training recipe, different seeds): "
                + "the poison is crafted on a crafting zoo and evaluated only on held-out victims "
                + "that crafting never saw."
        }
        return "The victim is a trained classifier that will take \(stepWords) on data the attacker "
            + "supplies, for example a fine-tuning update. The attacker controls \(poisonImages) "
            + "synthetic images, their labels and the step size. The goal: after the update, test "
            + "images of class \(forgetClass) (\(forgetName)) are predicted as class \(targetClass) "
            + "(\(targetName)) while every other class keeps its accuracy. \(knowledgeWords) "
            + "This is MITRE ATLAS AML.T0020 (Poison Training Data) used to achieve "
            + "AML.T0018.000 (Poison ML Model)."
    }
}

/// The dataset the victims were trained and tested on, as recorded in a report (named apart
/// from `Datasets.DatasetInfo` so a file importing both modules needs no qualification).
public struct ReportDataset: Codable, Equatable, Sendable {
    /// Dataset name, e.g. "mnist".
    public var name: String
    /// Class names, indexed by class.
    public var classNames: [String]
    /// Per-channel normalization mean.
    public var mean: [Double]
    /// Per-channel normalization std.
    public var std: [Double]

    enum CodingKeys: String, CodingKey {
        case name
        case classNames = "class_names"
        case mean, std
    }

    /// Memberwise initializer.
    public init(name: String, classNames: [String], mean: [Double], std: [Double]) {
        self.name = name
        self.classNames = classNames
        self.mean = mean
        self.std = std
    }
}

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

    /// Memberwise initializer.
    public init(heldout: VictimSetResult, known: VictimSetResult? = nil, crafting: VictimSetResult? = nil) {
        self.heldout = heldout
        self.known = known
        self.crafting = crafting
    }

    /// The sets that are present, in reporting order, with their JSON names.
    public var namedSets: [(name: String, set: VictimSetResult)] {
        var sets: [(name: String, set: VictimSetResult)] = [("heldout", heldout)]
        if let known { sets.append(("known", known)) }
        if let crafting { sets.append(("crafting", crafting)) }
        return sets
    }
}

/// The machine-readable record of one attack run: `report.json`, schema `amnesia.report/1`.
///
/// Markdown, HTML and CSV are all rendered from this value alone (plus PNGs), so a report can
/// be re-rendered later (`amnesia report RUN_DIR`) without re-running anything.
public struct AttackReport: Codable, Equatable, Sendable {
    /// The schema id this build writes and reads. Bump it on any incompatible change.
    public static let schemaID = "amnesia.report/1"

    /// Always `AttackReport.schemaID` for values built by this code.
    public var schema: String
    /// Run identity, timings and seed.
    public var run: RunInfo
    /// The threat model.
    public var threatModel: ThreatModel
    /// The dataset.
    public var dataset: ReportDataset
    /// The poison set.
    public var poison: PoisonInfo
    /// Attack results per victim set.
    public var results: AttackResults
    /// Controls (e.g. "no_poison", "random_real", "class_means"), by name.
    public var baselines: [String: BaselineResult]
    /// Robustness probes over the held-out victims: "asr_step_x0.5" is the ASR at half the
    /// step size, "other_drop_step_x0.5" the other classes' accuracy drop there (also "step_x2",
    /// "png_8bit").
    public var robustness: [String: Stat]?
    /// The resolved config, flattened to `key.path → value` strings.
    public var config: [String: String]

    enum CodingKeys: String, CodingKey {
        case schema, run
        case threatModel = "threat_model"
        case dataset, poison, results, baselines, robustness, config
    }

    /// Builds a report with the current schema id.
    public init(run: RunInfo, threatModel: ThreatModel, dataset: ReportDataset, poison: PoisonInfo,
                results: AttackResults, baselines: [String: BaselineResult] = [:],
                robustness: [String: Stat]? = nil, config: [String: String] = [:]) {
        self.schema = AttackReport.schemaID
        self.run = run
        self.threatModel = threatModel
        self.dataset = dataset
        self.poison = poison
        self.results = results
        self.baselines = baselines
        self.robustness = robustness
        self.config = config
    }

    /// Decodes `report.json`, refusing any schema other than `AttackReport.schemaID`.
    /// - Throws: `ReportError.unsupportedSchema` or `ReportError.malformedJSON` with the JSON path.
    public init(jsonData: Data) throws {
        try checkSchema(jsonData, expected: AttackReport.schemaID)
        do {
            self = try JSONDecoder().decode(AttackReport.self, from: jsonData)
        } catch {
            throw wrapDecodingError(error)
        }
    }

    /// Pretty-printed JSON with sorted keys (stable diffs between runs).
    /// - Throws: `ReportError.nonFiniteNumber` naming the path of a NaN or infinity.
    public func jsonData() throws -> Data {
        try encodeReportJSON(self)
    }
}

/// Reads only the `schema` field, so a wrong schema is reported as such rather than as
/// whatever field happens to be missing first.
private struct SchemaProbe: Decodable {
    var schema: String?
}

func checkSchema(_ data: Data, expected: String) throws {
    let probe: SchemaProbe
    do {
        probe = try JSONDecoder().decode(SchemaProbe.self, from: data)
    } catch {
        throw wrapDecodingError(error)
    }
    guard probe.schema == expected else {
        throw ReportError.unsupportedSchema(found: probe.schema, expected: expected)
    }
}

func encodeReportJSON<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    do {
        return try encoder.encode(value)
    } catch {
        throw wrapEncodingError(error)
    }
}
