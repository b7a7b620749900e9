import Autodiff
import Datasets
import Distillation
import Evaluation
import Formats
import Foundation
import Networks
import Poisoning
import Reports
import Results
import Victims
import Vocabulary

/// The parts of an evaluation that the run, `amnesia evaluate` and the audit share: which
/// victims, controls and probes a zoo's evaluation has, and how its results become a
/// report.
extension Zoo {
    /// `records` with their weights, as victims of `role`.
    func evaluated(_ records: [VictimRecord], as role: VictimRole) throws -> [EvaluatedVictim] {
        try records.map { EvaluatedVictim(id: $0.id, role: role, seed: $0.seed, parameters: try parameters(of: $0)) }
    }

    /// A plan that scores `poison` on the held-out victims and the crafting ones.
    func evaluationPlan(_ poison: PoisonSet) throws -> EvaluationPlan {
        var plan = EvaluationPlan(poison: poison, heldout: try evaluated(heldout, as: .heldout))
        plan.crafting = try evaluated(crafting, as: .crafting)
        return plan
    }

    /// The weights step sizes are scored on for a poison from elsewhere: the scorer's share
    /// of the crafting victims, or of the held-out ones in a zoo that has no crafting victims
    /// (an imported zoo; `standardControls` says so in the report).
    func scorerVictims() throws -> [[Tensor]] {
        try (crafting.isEmpty ? heldout : crafting).prefix(StepSizeScorer.victimCount).map { try parameters(of: $0) }
    }
}

extension Zoo {
    /// The K→T oracle for evaluations on this zoo, its learning rate chosen on the scorer's
    /// victims and training images of `seed`; finished oracles are cached in the zoo's
    /// `oracles/` folder (by weights, pair and recipe).
    func oracle(classifier: any Classifier, data: PreparedData, forget: Int, target: Int, seed: UInt64, workers: Int,
                progress: (String) -> Void) throws -> Oracle {
        try Oracle.chosen(classifier: classifier, train: data.train, forget: forget, target: target, seed: seed,
                          selection: (try scorerVictims(), try validationImages(data, seed: seed)),
                          cache: directory.appendingPathComponent("oracles"), workers: workers, progress: progress)
    }
}

/// 2,000 training images (a fixed sample of `seed`): the clean images a victim validates on.
func validationImages(_ data: PreparedData, seed: UInt64) throws -> LabeledImages {
    var rng = SeededGenerator(seed: seed &+ 11)
    return try data.train.subset(Array((0..<data.train.count).shuffled(using: &rng).prefix(2000)))
}

/// The victim updates of `defenses`: the gate validates on 2,000 training images of its
/// own draw (the victim's clean data; never the test split the results come from), and
/// dilution and noise draw from `seed`.
func defenseUpdates(_ defenses: [DefenseSpec], data: PreparedData, seed: UInt64) throws -> [any VictimUpdate] {
    guard !defenses.isEmpty else { return [] }
    let validation = try validationImages(data, seed: seed &+ 0x5EED)
    return defenses.map { $0.update(validation: validation, train: data.train, seed: seed) }
}

/// The robustness probes every report carries: the victim's own step size (half, double)
/// and the poison saved as 8-bit images.
let standardProbes: [any VictimUpdate] = [ScaledStep(factor: 0.5), ScaledStep(factor: 2), EightBitImages()]

/// The controls every attack is compared with: no poison, then the real-image controls,
/// all with class K relabelled T. `selectedOnHeldout` marks a zoo without crafting
/// victims, whose controls had their step sizes chosen on held-out victims.
func standardControls(context: CraftingContext, perClass: Int, seed: UInt64, selectedOnHeldout: Bool) -> [EvaluationPlan.Control] {
    let (k, t) = (context.metadata.forget, context.metadata.target)
    let note = " Step size fitted as the poison's (StepSizeScorer)."
        + (selectedOnHeldout ? " Chosen on held-out victims (the zoo has no crafting victims)." : "")
    return [.init(key: "no_poison", description: "No poison: the victims as trained (no update).", poison: nil)]
        + realImageControls(context: context, perClass: perClass, seed: seed).map { key, description, poison in
            .init(key: key, description: "\(description), class \(k) relabelled \(t).\(note)", poison: poison)
        }
}

/// The paper's real-image baselines, labelled as the objective wants: random training
/// images, k-means centroids (`perClass` of each class) and the class means (one each).
func realImageControls(context: CraftingContext, perClass: Int, seed: UInt64) -> [(key: String, description: String, poison: PoisonSet)] {
    [("random_real", "\(perClass) random real training images per class",
      RandomRealImages(context: context, perClass: perClass, seed: seed &+ 7).poisonSet(NoState())),
     ("kmeans", "\(perClass) k-means centroids of each class's training images",
      KMeansCentroids(context: context, perClass: perClass, seed: seed &+ 13).poisonSet(NoState())),
     ("class_means", "The mean training image of each class", ClassMeanImages(context: context).poisonSet(NoState()))]
}

/// The threat model of `poison`, in the report's words.
func threatModel(_ poison: PoisonSet, knowledge: Knowledge, classNames: [String]) -> ThreatModel {
    let (k, t) = (poison.metadata.forget, poison.metadata.target)
    return ThreatModel(knowledge: knowledge, forgetClass: k, targetClass: t,
                       forgetName: classNames[k], targetName: classNames[t], poisonImages: poison.labels.count,
                       steps: poison.steps, epochs: poison.epochs)
}

extension AttackReport {
    /// A report of evaluation `results`: controls by key, probes as ASR and other-class drop.
    init(run: RunInfo, threatModel: ThreatModel, data: PreparedData, poison: PoisonInfo,
         results: EvaluationResults, config: [String: String]) {
        var baselines: [String: BaselineResult] = [:]
        for control in results.controls {
            baselines[control.key] = BaselineResult(description: control.description, stepSize: Double(control.stepSize),
                                                    victims: control.victims.victims, forget: threatModel.forgetClass)
        }
        var robustness: [String: Stat] = [:]
        for probe in results.updates {
            robustness["asr_\(probe.key)"] = probe.victims.summary.after.asr
            robustness["other_drop_\(probe.key)"] = probe.victims.summary.otherAccuracyDrop
        }
        let defenses = results.defenses.map { d in
            DefenseReport(key: d.key, description: d.description, accepted: d.poison.accepted,
                          victims: d.poison.victims.victims.count, summary: d.poison.victims.summary,
                          controls: d.controls.mapValues(\.victims.summary),
                          detection: d.poison.detections.isEmpty ? nil : DetectionReport(d.poison.detections))
        }
        var config = config
        if let recipe = results.oracleRecipe { config["oracle.recipe"] = recipe }
        self.init(run: run, threatModel: threatModel, dataset: data.info, normalization: data.normalization, poison: poison,
                  results: AttackResults(heldout: results.heldout, known: results.known, crafting: results.crafting,
                                         foreign: results.foreign),
                  baselines: baselines, robustness: robustness, defenses: defenses.isEmpty ? nil : defenses, config: config)
    }
}

/// Writes `report`'s files into `directory`, embedding the poison grid written beside it.
func writeReport(_ report: AttackReport, to directory: URL) throws {
    let grid = directory.appendingPathComponent("poison.png")
    let images = (try? Data(contentsOf: grid)).map { ["poison.png": $0] } ?? [:]
    try ReportWriter.write(report: report, images: images, to: directory)
}

/// A parsed JSON configuration flattened to `a.b.c → value` strings (arrays joined with
/// commas, booleans as true/false), leaving out the top-level keys in `skipping`.
func flattenedConfig(_ json: Any, skipping: Set<String>) -> [String: String] {
    var flat: [String: String] = [:]
    func walk(_ value: Any, _ path: String) {
        if skipping.contains(path) { return }
        if let dict = value as? [String: Any] {
            for (key, child) in dict { walk(child, path.isEmpty ? key : "\(path).\(key)") }
        } else if let array = value as? [Any] {
            flat[path] = array.map { "\($0)" }.joined(separator: ", ")
        } else if let number = value as? NSNumber, String(cString: number.objCType) == "c" {
            // JSONSerialization's booleans are NSNumbers that print as 0 and 1.
            flat[path] = number.boolValue ? "true" : "false"
        } else {
            flat[path] = "\(value)"
        }
    }
    walk(json, "")
    return flat
}
