import Datasets
import Distillation
import Evaluation
import Formats
import Foundation
import Networks
import Poisoning
import Reports
import Results
import Specs
import Victims

/// `amnesia evaluate`: a poison set made anywhere, scored on a zoo's held-out victims
/// with the same controls and probes as a run, into `reports/evaluate-<file>-<hash>/`
/// (the hash covers the poison's bytes and the zoo's victims, so two files both called
/// `poison.safetensors` get different folders).
public struct PoisonEvaluation: Sendable {
    public let poison: PoisonSet
    public let poisonURL: URL
    public let zoo: Zoo
    public let data: PreparedData
    public let directory: URL
    /// Where the poison and the zoo disagree in ways that change what the numbers mean.
    public let warnings: [String]
    let poisonHash: String

    public init(poisonURL: URL, overrides: PoisonSet.MetadataOverrides, zoo: Zoo, reportsRoot: URL) throws {
        let poison = try PoisonSet(contentsOf: poisonURL, overrides: overrides)
        let data = try zoo.loadData()
        let classes = data.info.numClasses
        for (key, value) in [("K", poison.metadata.forget), ("T", poison.metadata.target)] where !(0..<classes).contains(value) {
            throw PoisonError("\(poisonURL.path): \(key) = \(value) is not a class of zoo '\(zoo.name)' (0…\(classes - 1))")
        }
        if poison.metadata.forget == poison.metadata.target {
            throw PoisonError("\(poisonURL.path): K = T = \(poison.metadata.forget); the attack makes class K predicted as another class T, so its ASR would be class \(poison.metadata.forget)'s plain accuracy; give two different classes")
        }
        if zoo.heldout.isEmpty {
            throw ZooError("zoo '\(zoo.name)' has no held-out victims to evaluate on; set heldout > 0 in its spec and train again, or import some (`amnesia victims import --role heldout`)")
        }
        var warnings: [String] = []
        if poison.metadata.dataset.lowercased() != data.info.name.lowercased() {
            warnings.append("the poison was made for dataset '\(poison.metadata.dataset)' but zoo '\(zoo.name)' was trained on '\(data.info.name)'")
        }
        let zooNorm = data.normalization
        let close = { (a: [Float], b: [Float]) in a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-3 } }
        if !close(poison.metadata.mean, zooNorm.mean) || !close(poison.metadata.std, zooNorm.std) {
            warnings.append("the poison's normalization (mean \(poison.metadata.mean), std \(poison.metadata.std)) differs from the zoo's (mean \(zooNorm.mean), std \(zooNorm.std)): the victims see its images as given, in their own normalized space")
        }
        let bytes = try Data(contentsOf: poisonURL, options: .mappedIfSafe)
        poisonHash = SHA256.hex(bytes)
        let identity = poisonHash + zoo.manifest.victims.map(\.sha256).joined()
        // The file's name is anyone's choice: its folder gets a safe, bounded form of it.
        let stem = SafeName.sanitized(poisonURL.deletingPathExtension().lastPathComponent)
        (self.poison, self.poisonURL, self.zoo, self.data, self.warnings) = (poison, poisonURL, zoo, data, warnings)
        directory = reportsRoot.appendingPathComponent("evaluate-\(stem)-\(SHA256.hex(Data(identity.utf8)).prefix(8))")
    }

    /// Copies the poison into the report folder, scores it and writes the report. A folder
    /// this call created is removed again when scoring fails, so a refused poison leaves
    /// nothing behind.
    public func run(defenses: [DefenseSpec] = [], workers: Int = 2, progress: (String) -> Void = { _ in }) throws -> AttackReport {
        let zooLock = try zoo.readLock(purpose: "evaluating a poison on this zoo")
        let created = !FileManager.default.fileExists(atPath: directory.path)
        let lock = try FolderLock(directory, .exclusive, purpose: "evaluating this poison")
        defer { withExtendedLifetime((zooLock, lock)) {} }
        do {
            return try scoreAndWrite(defenses: defenses, workers: workers, progress: progress)
        } catch {
            if created { try? FileManager.default.removeItem(at: directory) }
            throw error
        }
    }

    private func scoreAndWrite(defenses: [DefenseSpec], workers: Int, progress: (String) -> Void) throws -> AttackReport {
        let start = Date()
        let classifier = try zoo.classifier()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try AtomicFile.write(Data(contentsOf: poisonURL), to: directory.appendingPathComponent("poison.safetensors"))
        try AtomicFile.write(poison.grid().encoded(), to: directory.appendingPathComponent("poison.png"))

        let (k, t) = (poison.metadata.forget, poison.metadata.target)
        var plan = try zoo.evaluationPlan(poison)
        var metadata = poison.metadata
        metadata.mean = data.normalization.mean
        metadata.std = data.normalization.std
        let context = CraftingContext(classifier: classifier, data: data, victims: try zoo.scorerVictims(),
                                      objective: ForgetObjective(forget: k, target: t, forgetShare: nil, retainWeight: 1, train: data.train),
                                      metadata: metadata)
        let perClass = max(1, poison.imagesPerStep / max(data.info.numClasses, 1))
        plan.controls = standardControls(context: context, perClass: perClass, seed: poison.metadata.seed,
                                         selectedOnHeldout: zoo.crafting.isEmpty)
        plan.scorer = context.stepSizeScorer(seed: poison.metadata.seed)
        plan.oracle = try zoo.oracle(classifier: classifier, data: data, forget: k, target: t, seed: poison.metadata.seed,
                                     workers: workers, progress: progress)
        plan.updates = standardProbes
        plan.defenses = try defenseUpdates(defenses, data: data, seed: poison.metadata.seed)
        let results = try plan.run(classifier: classifier, images: data.test, workers: workers, progress: progress)
        let report = AttackReport(
            run: RunInfo(name: directory.lastPathComponent, created: RunInfo.timestamp(Date()), amnesiaVersion: amnesiaVersion,
                         seed: poison.metadata.seed, timingsSeconds: ["evaluate": Date().timeIntervalSince(start)]),
            threatModel: threatModel(poison, knowledge: .distribution, classNames: data.info.classNames),
            data: data,
            poison: PoisonInfo(file: "poison.safetensors", gridPNG: "poison.png", images: poison.labels.count,
                               learnedStepSizes: poison.stepSizes.map(Double.init)),
            results: results, config: config())
        try writeReport(report, to: directory)
        return report
    }

    /// What was evaluated: the poison file and what it says of itself, and the zoo.
    func config() -> [String: String] {
        var config = [
            "poison.file": poisonURL.path, "poison.sha256": poisonHash, "poison.dataset": poison.metadata.dataset,
            "poison.K": String(poison.metadata.forget), "poison.T": String(poison.metadata.target),
            "poison.steps": String(poison.steps), "poison.epochs": String(poison.epochs),
            "poison.architecture": poison.metadata.architecture, "poison.seed": String(poison.metadata.seed),
            "poison.mean": poison.metadata.mean.map { "\($0)" }.joined(separator: ", "),
            "poison.std": poison.metadata.std.map { "\($0)" }.joined(separator: ", "),
            "zoo.name": zoo.name, "zoo.heldout": String(zoo.heldout.count), "zoo.crafting": String(zoo.crafting.count),
        ]
        for (i, warning) in warnings.enumerated() { config["warning.\(i + 1)"] = warning }
        return config
    }
}
