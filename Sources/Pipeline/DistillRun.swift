import Autodiff
import Datasets
import Distillation
import Evaluation
import Formats
import Foundation
import Poisoning
import Reports
import Results
import Specs
import Victims
import Vocabulary

/// The paper's four settings of the initial weights: the distilled data is learned for
/// one known network (fixed) or for a distribution of them (random), and those networks
/// are untrained initializations (a zoo trained for 0 epochs) or pretrained ones.
public enum DistillSetting: String, Sendable {
    case fixedInit = "fixed-init", randomInit = "random-init"
    case fixedPretrained = "fixed-pretrained", randomPretrained = "random-pretrained"

    /// The setting of a spec's knowledge over `zoo`.
    init(knowledge: Knowledge, zoo: ZooSpec) {
        let untrained = ([zoo.training] + zoo.craftingRecipes + zoo.heldoutRecipes).allSatisfy { $0.epochs == 0 }
        switch (knowledge, untrained) {
        case (.fixed, true): self = .fixedInit
        case (.distribution, true): self = .randomInit
        case (.fixed, false): self = .fixedPretrained
        case (.distribution, false): self = .randomPretrained
        }
    }

    var isFixed: Bool { self == .fixedInit || self == .fixedPretrained }

    /// The setting in one sentence, for the report.
    func description(zoo: ZooSpec) -> String {
        let task = zoo.trainClasses.map { "pretrained on classes \($0.map(String.init).joined(separator: ", ")) only" } ?? "pretrained"
        switch self {
        case .fixedInit: return "Fixed init: the data is distilled for one known random initialization and scored on it."
        case .randomInit: return "Random init: the data is distilled for a distribution of random initializations (zoo '\(zoo.name)', crafting seeds) and scored on initializations never used while distilling (held-out seeds)."
        case .fixedPretrained: return "Fixed pretrained: the data adapts one known network, \(task), to the whole task, and is scored on it."
        case .randomPretrained: return "Random pretrained: the data adapts a distribution of networks, \(task), to the whole task, and is scored on networks never used while distilling."
        }
    }
}

/// One distillation from spec to report (`amnesia distill`): an attack run with the
/// standard objective, sharing its resolution, folder, crafting and checkpoints
/// (`run.craft`), and
/// scored by test accuracy after the distilled steps beside real-image baselines.
public struct DistillRun: Sendable {
    /// The run the distillation shares the attack's machinery through.
    public let run: AttackRun
    public let setting: DistillSetting

    /// The distillation of `run`, whose spec must have the standard objective.
    public init(_ run: AttackRun) throws {
        guard run.spec.objective == .standard else {
            throw SpecError(file: run.spec.name, "amnesia distill needs objective: standard (plain distillation); this spec has objective: \(run.spec.objective.rawValue), which `amnesia run` crafts")
        }
        self.run = run
        setting = DistillSetting(knowledge: run.spec.knowledge, zoo: run.zoo.manifest.spec)
    }

    public var directory: URL { run.directory }

    /// The distilled set of an earlier run of this spec that finished (its poison written,
    /// no checkpoint left), so that `--resume` evaluates it again instead of distilling anew.
    public func finishedPoison() throws -> PoisonSet? {
        let files = FileManager.default
        guard files.fileExists(atPath: run.poisonURL.path), !files.fileExists(atPath: run.checkpointURL.path) else { return nil }
        return try PoisonSet(contentsOf: run.poisonURL)
    }

    /// Test accuracy of the setting's networks after the distilled steps (the fixed
    /// network, or the held-out ones), beside the real-image baselines with as many images
    /// trained by as many steps, each baseline's step size chosen on the crafting networks.
    public func evaluate(_ distilled: PoisonSet, workers: Int = 2, timings: [String: Double] = [:],
                         locks: AttackRun.Locks? = nil, progress: (String) -> Void = { _ in }) throws -> DistillReport {
        let locks = try locks ?? run.lock()
        defer { withExtendedLifetime(locks) {} }
        let start = Date()
        let (spec, zoo, data) = (run.spec, run.zoo, run.data)
        let heldout = try zoo.evaluated(zoo.heldout, as: .heldout)
        var plan = EvaluationPlan(poison: distilled,
                                  heldout: try setting.isFixed ? zoo.evaluated(run.attackerVictims(), as: .known) : heldout)
        if !setting.isFixed { plan.crafting = try zoo.evaluated(Array(zoo.crafting.prefix(8)), as: .crafting) }
        let updates = spec.steps * spec.epochs
        let context = run.craftingContext(victims: try run.attackerVictims().prefix(StepSizeScorer.victimCount).map { try zoo.parameters(of: $0) })
        plan.controls = realImageControls(context: context, perClass: spec.imagesPerClass * spec.steps,
                                          seed: spec.seed).map { key, description, poison in
            var trained = poison
            (trained.epochs, trained.stepSizes) = (updates, [Float](repeating: 1, count: updates))
            return .init(key: key, description: "\(description), taken for \(updates) step(s) (as many as the distilled data).",
                         poison: trained)
        }
        plan.scorer = context.stepSizeScorer(seed: spec.seed)
        let results = try plan.run(classifier: run.classifier, images: data.test, workers: workers, progress: progress)
        var sets = AttackResults(heldout: results.heldout, crafting: results.crafting)
        if setting.isFixed {
            progress("scoring the distilled data on \(heldout.count) held-out networks (other initializations)")
            let transfer = try EvaluationPlan(poison: distilled, heldout: heldout)
                .run(classifier: run.classifier, images: data.test, workers: workers)
            sets = AttackResults(heldout: transfer.heldout, known: results.heldout)
        }
        var baselines: [String: BaselineResult] = [:]
        for control in results.controls {
            baselines[control.key] = BaselineResult(description: control.description, stepSize: Double(control.stepSize),
                                                    victims: control.victims.victims)
        }
        var allTimings = timings
        allTimings["evaluate"] = Date().timeIntervalSince(start)
        return DistillReport(
            run: RunInfo(name: run.name, created: RunInfo.timestamp(Date()), amnesiaVersion: amnesiaVersion, seed: spec.seed,
                         timingsSeconds: allTimings),
            setting: setting.rawValue, settingDescription: setting.description(zoo: zoo.manifest.spec), dataset: data.info,
            normalization: data.normalization,
            poison: PoisonInfo(file: "poison.safetensors", gridPNG: "poison.png", images: distilled.labels.count,
                               learnedStepSizes: distilled.stepSizes.map(Double.init)),
            steps: distilled.steps, epochs: distilled.epochs, headline: setting.isFixed ? "known" : "heldout", results: sets,
            baselines: baselines, config: try run.configStrings())
    }

    /// Writes the report files (with the distilled grid) into the run folder.
    public func write(_ report: DistillReport, locks: AttackRun.Locks? = nil) throws {
        let locks = try locks ?? run.lock()
        defer { withExtendedLifetime(locks) {} }
        let grid = directory.appendingPathComponent("poison.png")
        let images = (try? Data(contentsOf: grid)).map { ["poison.png": $0] } ?? [:]
        try ReportWriter.write(distill: report, images: images, to: directory)
    }
}
