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
import Specs
import Victims

/// One attack from spec to report: resolves the zoo, data and classes, crafts the poison
/// (with checkpoints), evaluates it and its controls, and writes the report folder
/// `reports/<spec name>-<config hash>/`.
public struct AttackRun: Sendable {
    public let spec: AttackSpec
    public let zoo: Zoo
    /// Held-out victims trained with recipes the crafting zoo never used (optional).
    public let foreignZoo: Zoo?
    public let data: PreparedData
    public let classifier: any Classifier
    public let forget: Int
    public let target: Int
    /// The run's folder; its name carries a short hash of the resolved config.
    public let directory: URL
    public let configHash: String
    /// Defenses to score the poison under beside the spec's own, not crafted against
    /// (`--defense` on the command line); not part of the hash.
    public var evaluationDefenses: [DefenseSpec] = []

    public var name: String { directory.lastPathComponent }
    var checkpointURL: URL { directory.appendingPathComponent("checkpoint.safetensors") }
    public var poisonURL: URL { directory.appendingPathComponent("poison.safetensors") }

    /// Resolves everything the attack needs, checking the spec against the zoo and data.
    /// `data`, if given, must be the zoo's dataset in its normalization (saves reloading).
    /// `whiteBoxOnHeldout` lets `fixed_victim` name a held-out victim: the audit's white-box
    /// bound, crafted on the model it then scores and reported as such, never as transfer.
    public init(spec: AttackSpec, zoo: Zoo, foreignZoo: Zoo? = nil, reportsRoot: URL, data: PreparedData? = nil,
                whiteBoxOnHeldout: Bool = false) throws {
        if let problem = spec.problem { throw SpecError(file: spec.name, problem) }
        let data = try data ?? zoo.loadData()
        let (k, t) = try spec.classes(data.info.classNames)
        if zoo.heldout.isEmpty {
            throw ZooError("zoo '\(zoo.name)' has no held-out victims to evaluate on; set heldout > 0 in its spec and train again")
        }
        if zoo.crafting.isEmpty {
            throw ZooError("zoo '\(zoo.name)' has no crafting victims; the attacker's victims (either knowledge) come from the crafting set, so set crafting > 0")
        }
        if let fixed = spec.fixedVictim, !zoo.manifest.victims.contains(where: { $0.id == fixed }) {
            throw ZooError("fixed_victim '\(fixed)' is not in zoo '\(zoo.name)'; see `amnesia victims show \(zoo.name)`")
        }
        if let fixed = spec.fixedVictim, !whiteBoxOnHeldout, zoo.heldout.contains(where: { $0.id == fixed }) {
            throw ZooError("fixed_victim '\(fixed)' is a held-out victim of zoo '\(zoo.name)': the held-out results would include the victim the poison was crafted on; name a crafting victim")
        }
        if spec.knowledge == .distribution && spec.victimsPerIteration > zoo.crafting.count {
            throw SpecError(file: spec.name, "victims_per_iteration \(spec.victimsPerIteration) is more than zoo '\(zoo.name)' has crafting victims (\(zoo.crafting.count)); lower it or train a larger zoo")
        }
        if let foreignZoo {
            let (a, b) = (zoo.manifest, foreignZoo.manifest)
            guard a.spec.architecture == b.spec.architecture, a.inputShape == b.inputShape, a.classNames == b.classNames,
                  a.normalization == b.normalization else {
                throw ZooError("foreign zoo '\(foreignZoo.name)' (\(b.spec.architecture) on \(b.spec.dataset)) does not take the same inputs and classes as zoo '\(zoo.name)' (\(a.spec.architecture) on \(a.spec.dataset)); train it on the same dataset and architecture")
            }
            if foreignZoo.heldout.isEmpty { throw ZooError("foreign zoo '\(foreignZoo.name)' has no held-out victims; set heldout > 0 in its spec") }
        }
        self.spec = spec
        self.zoo = zoo
        self.foreignZoo = foreignZoo
        self.data = data
        classifier = try zoo.classifier()
        (forget, target) = (k, t)
        // The spec's defenses are crafted through, so they are part of the hash (an empty list
        // hashes as before); `--defense` ones (`evaluationDefenses`) act at evaluation only.
        configHash = String(SHA256.hex(try Self.resolvedConfig(spec: spec, zoo: zoo)).prefix(8))
        directory = reportsRoot.appendingPathComponent("\(spec.name)-\(configHash)")
    }

    /// The spec (what crafting reads of it) plus the zoo's identity, as canonical JSON:
    /// what the run name hashes. Changing only how a distilled set is evaluated keeps the run.
    static func resolvedConfig(spec: AttackSpec, zoo: Zoo) throws -> Data {
        struct Resolved: Encodable { let attack: AttackSpec; let zoo: ZooSpec; let victims: [String] }
        return try CanonicalJSON.encode(Resolved(attack: spec.craftingPart, zoo: zoo.manifest.spec,
                                          victims: zoo.manifest.victims.map(\.sha256)))
    }

    /// The victims the attacker may use.
    func attackerVictims() -> [VictimRecord] {
        switch spec.knowledge {
        case .distribution: return zoo.crafting
        case .fixed:
            let id = spec.fixedVictim ?? zoo.crafting[0].id
            return zoo.manifest.victims.filter { $0.id == id }
        }
    }

    /// What the attack's methods and controls work with; methods cache in the zoo's folder
    /// (what they keep depends on the zoo's weights and data).
    func craftingContext(victims: [[Tensor]]) -> CraftingContext {
        var context = spec.craftingContext(classifier: classifier, data: data, victims: victims, forget: forget, target: target,
                                           architecture: zoo.manifest.spec.architecture)
        context.cache = zoo.directory
        return context
    }

    // MARK: Locks

    /// What a run holds from crafting until its report is written: its own folder
    /// exclusively (a second run of the same spec stops at once instead of rewriting the
    /// poison under it) and its zoos shared (no `victims train` or import changes them).
    public struct Locks: Sendable {
        let held: [FolderLock]
    }

    /// Takes the run's locks, or throws naming the process that holds one.
    public func lock() throws -> Locks {
        let own = try FolderLock(directory, .exclusive, purpose: "crafting or evaluating this run")
        let zoos = try ([zoo] + (foreignZoo.map { [$0] } ?? [])).map { try $0.readLock(purpose: "attacking this zoo") }
        return Locks(held: [own] + zoos)
    }

    // MARK: Craft

    /// Crafts the poison with the spec's method, resuming from the checkpoint when `resume`
    /// is set. Stops early (after writing a checkpoint) when `shouldStop` turns true and
    /// returns nil then. The checkpoint is removed once the poison is written.
    /// `locks`: the run's locks when the caller already holds them (see `lock()`).
    public func craft(resume: Bool, checkpointEvery: Int = 50, workers: Int = 2, locks: Locks? = nil,
                      shouldStop: @Sendable () -> Bool = { false },
                      progress: (CraftProgress) -> Void = { _ in }) throws -> (poison: PoisonSet, seconds: Double)? {
        let locks = try locks ?? lock()
        defer { withExtendedLifetime(locks) {} }
        AtomicFile.sweepStale(in: directory)
        let victims = try attackerVictims().map { try zoo.parameters(of: $0) }
        let method = spec.makeMethod(craftingContext(victims: victims))
        let start = Date()
        let snapshots = spec.snapshotIterations
        if !snapshots.isEmpty { try FileManager.default.createDirectory(at: snapshotURL(0).deletingLastPathComponent(), withIntermediateDirectories: true) }
        guard let poison = try Crafting.run(method, checkpoint: checkpointURL, configHash: configHash, resume: resume,
                                            checkpointEvery: checkpointEvery, workers: workers, shouldStop: shouldStop,
                                            snapshots: snapshots, snapshot: { try $1.write(to: snapshotURL($0)) },
                                            progress: progress) else { return nil }
        try poison.write(to: poisonURL)
        try AtomicFile.write(poison.grid().encoded(), to: directory.appendingPathComponent("poison.png"))
        try FileManager.default.removeItem(at: checkpointURL)
        return (poison, Date().timeIntervalSince(start))
    }

    /// Where the set of iteration `iteration` is kept when the spec asks for snapshots.
    public func snapshotURL(_ iteration: Int) -> URL {
        directory.appendingPathComponent("snapshots").appendingPathComponent(String(format: "iteration-%06d.safetensors", iteration))
    }

    // MARK: Evaluate

    /// Scores `poison` on the held-out victims (and the known one with fixed knowledge,
    /// and the crafting set), with the no-poison and real-image controls and the
    /// robustness probes.
    public func evaluate(_ poison: PoisonSet, workers: Int = 2, timings: [String: Double] = [:], locks: Locks? = nil,
                         progress: (String) -> Void = { _ in }) throws -> AttackReport {
        let locks = try locks ?? lock()
        defer { withExtendedLifetime(locks) {} }
        let start = Date()
        var plan = try zoo.evaluationPlan(poison)
        if spec.knowledge == .fixed { plan.known = try zoo.evaluated(attackerVictims(), as: .known) }
        if let foreignZoo { plan.foreign = try foreignZoo.evaluated(foreignZoo.heldout, as: .heldout) }
        let context = craftingContext(victims: try attackerVictims().prefix(StepSizeScorer.victimCount).map { try zoo.parameters(of: $0) })
        plan.controls = standardControls(context: context, perClass: spec.imagesPerClass, seed: spec.seed,
                                         selectedOnHeldout: zoo.crafting.isEmpty)
        plan.scorer = context.stepSizeScorer(seed: spec.seed)
        plan.oracle = try zoo.oracle(classifier: classifier, data: data, forget: poison.metadata.forget,
                                     target: poison.metadata.target, seed: spec.seed, workers: workers, progress: progress)
        plan.updates = standardProbes
        plan.defenses = try defenseUpdates(spec.defenses + evaluationDefenses.filter { !spec.defenses.contains($0) },
                                           data: data, seed: spec.seed)
        let results = try plan.run(classifier: classifier, images: data.test, workers: workers, progress: progress)
        var allTimings = timings
        allTimings["evaluate"] = Date().timeIntervalSince(start)
        return AttackReport(
            run: RunInfo(name: name, created: RunInfo.timestamp(Date()), amnesiaVersion: amnesiaVersion,
                         seed: spec.seed, timingsSeconds: allTimings),
            threatModel: threatModel(poison, knowledge: spec.knowledge, classNames: data.info.classNames),
            data: data,
            poison: PoisonInfo(file: "poison.safetensors", gridPNG: "poison.png", images: poison.labels.count,
                               learnedStepSizes: poison.stepSizes.map(Double.init)),
            results: results, config: try configStrings())
    }

    /// Writes the report files (and the poison grid they embed) into the run folder.
    public func write(_ report: AttackReport, locks: Locks? = nil) throws {
        let locks = try locks ?? lock()
        defer { withExtendedLifetime(locks) {} }
        try writeReport(report, to: directory)
    }

    /// The resolved configuration as flat key → value strings for the report.
    func configStrings() throws -> [String: String] {
        var flat = flattenedConfig(try JSONSerialization.jsonObject(with: Self.resolvedConfig(spec: spec, zoo: zoo)),
                                   skipping: ["victims"])
        flat["run.config_hash"] = configHash
        return flat
    }
}
