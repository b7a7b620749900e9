import Autodiff
import Datasets
import Distillation
import Foundation
import Networks
import Reports
import Victims

/// Where crafting is, for progress displays.
public struct CraftProgress: Sendable {
    public let iteration, iterations: Int
    public let loss: Float
    public let stepSizes: [Float]
    public let secondsPerIteration: Double
}

/// One attack from spec to report: resolves the zoo, data and classes, crafts the poison
/// (with checkpoints), evaluates it and its controls, and writes the report folder
/// `reports/<spec name>-<config hash>/`.
public struct AttackRun: Sendable {
    public static let amnesiaVersion = "0.1.0"

    public let spec: AttackSpec
    public let zoo: Zoo
    public let data: PreparedData
    public let classifier: any Classifier
    public let forget: Int
    public let target: Int
    /// The run's folder; its name carries a short hash of the resolved config.
    public let directory: URL
    public let configHash: String

    public var name: String { directory.lastPathComponent }
    var checkpointURL: URL { directory.appendingPathComponent("checkpoint.safetensors") }
    public var poisonURL: URL { directory.appendingPathComponent("poison.safetensors") }

    /// Resolves everything the attack needs, checking the spec against the zoo and data.
    /// `data`, if given, must be the zoo's dataset in its normalization (saves reloading).
    /// `evaluationOnly` (scoring a given poison): the zoo needs no crafting victims, so a
    /// held-out-only zoo (e.g. foreign recipes, `crafting: 0`) can be scored.
    public init(spec: AttackSpec, zoo: Zoo, reportsRoot: URL, data: PreparedData? = nil, evaluationOnly: Bool = false) throws {
        if let problem = spec.problem { throw SpecError(file: spec.name, problem) }
        let data = try data ?? PreparedData.load(dataset: zoo.manifest.spec.dataset, directory: zoo.manifest.spec.dataDir,
                                                 normalization: zoo.manifest.normalization)
        let (k, t) = try spec.classes(data.info.classNames)
        if zoo.heldout.isEmpty {
            throw ZooError("zoo '\(zoo.name)' has no held-out victims to evaluate on; set heldout > 0 in its spec and train again")
        }
        if spec.knowledge == .distribution && zoo.crafting.isEmpty && !evaluationOnly {
            throw ZooError("zoo '\(zoo.name)' has no crafting victims; distribution knowledge needs crafting > 0")
        }
        if let fixed = spec.fixedVictim, !zoo.manifest.victims.contains(where: { $0.id == fixed }) {
            throw ZooError("fixed_victim '\(fixed)' is not in zoo '\(zoo.name)'; see `amnesia victims show \(zoo.name)`")
        }
        self.spec = spec
        self.zoo = zoo
        self.data = data
        classifier = try zoo.classifier()
        (forget, target) = (k, t)
        let resolved = try Self.resolvedConfig(spec: spec, zoo: zoo)
        configHash = String(SHA256.hex(resolved).prefix(8))
        directory = reportsRoot.appendingPathComponent("\(spec.name)-\(configHash)")
    }

    /// The spec plus the zoo's identity, as canonical JSON: what the run name hashes.
    static func resolvedConfig(spec: AttackSpec, zoo: Zoo) throws -> Data {
        struct Resolved: Encodable { let attack: AttackSpec; let zoo: ZooSpec; let victims: [String] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(Resolved(attack: spec, zoo: zoo.manifest.spec, victims: zoo.manifest.victims.map(\.sha256)))
    }

    /// The victims the attacker may use.
    func attackerVictims() throws -> [VictimRecord] {
        switch spec.knowledge {
        case .distribution: return zoo.crafting
        case .fixed:
            let id = spec.fixedVictim ?? zoo.crafting.first?.id ?? zoo.heldout[0].id
            return zoo.manifest.victims.filter { $0.id == id }
        }
    }

    // MARK: Craft

    /// Crafts the poison, resuming from the checkpoint when `resume` is set. Stops early
    /// (after writing a checkpoint) when `shouldStop` turns true; returns nil then.
    public func craft(resume: Bool, checkpointEvery: Int = 50, workers: Int = 2,
                      shouldStop: @Sendable () -> Bool = { false },
                      progress: (CraftProgress) -> Void = { _ in }) throws -> (poison: PoisonSet, seconds: Double)? {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let victims = try attackerVictims().map { try zoo.parameters(of: $0) }
        let crafter = Crafter(spec: spec, classifier: classifier, data: data, victims: victims, forget: forget, target: target)
        var state = crafter.initialState()
        if resume, FileManager.default.fileExists(atPath: checkpointURL.path) {
            state = try Checkpoint.read(from: checkpointURL, configHash: configHash, into: state)
        }
        let start = Date()
        let startIteration = state.iteration
        while state.iteration < spec.iterations {
            if shouldStop() {
                try Checkpoint.write(state, configHash: configHash, to: checkpointURL)
                return nil
            }
            crafter.iterate(&state, workers: workers)
            if state.iteration % checkpointEvery == 0 { try Checkpoint.write(state, configHash: configHash, to: checkpointURL) }
            progress(CraftProgress(iteration: state.iteration, iterations: spec.iterations, loss: state.losses.last ?? 0,
                                   stepSizes: Crafter.stepSizes(state.rho),
                                   secondsPerIteration: Date().timeIntervalSince(start) / Double(state.iteration - startIteration)))
        }
        try Checkpoint.write(state, configHash: configHash, to: checkpointURL)
        let poison = crafter.poisonSet(state, architecture: zoo.manifest.spec.architecture)
        try poison.write(to: poisonURL)
        try AtomicFile.write(poison.grid().encoded(), to: directory.appendingPathComponent("poison.png"))
        return (poison, Date().timeIntervalSince(start))
    }

    // MARK: Evaluate

    /// Scores `poison` on the held-out victims (and the known one with fixed knowledge,
    /// and the crafting set), with the no-poison and real-image controls.
    public func evaluate(_ poison: PoisonSet, workers: Int = 2, timings: [String: Double] = [:],
                         progress: (String) -> Void = { _ in }) throws -> AttackReport {
        let start = Date()
        let evaluator = Evaluator(classifier: classifier, images: data.test, forget: forget, target: target)
        try evaluator.check(poison)
        func load(_ records: [VictimRecord], as role: VictimResult.Role) throws -> [EvaluatedVictim] {
            try records.map { EvaluatedVictim(id: $0.id, role: role, seed: $0.seed, parameters: try zoo.parameters(of: $0)) }
        }
        let heldout = try load(zoo.heldout, as: .heldout)
        let crafting = try load(zoo.crafting, as: .crafting)
        progress("evaluating the poison on \(heldout.count) held-out victims")
        let before = evaluator.baseline(heldout, workers: workers)
        let heldoutResult = evaluator.evaluate(heldout, poison: poison, before: before, workers: workers)
        let known = spec.knowledge == .fixed
            ? evaluator.evaluate(try load(attackerVictims(), as: .known), poison: poison, workers: workers) : nil
        let craftingResult = crafting.isEmpty ? nil : evaluator.evaluate(crafting, poison: poison, workers: workers)

        progress("scoring the controls (no poison, random real images, class means)")
        // Step sizes of the baselines are chosen on crafting victims and training images only.
        let selection = Evaluator(classifier: classifier, images: try validationSample(), forget: forget, target: target)
        let selectionVictims = Array((crafting.isEmpty ? heldout : crafting).prefix(4))
        var baselines: [String: BaselineResult] = [
            "no_poison": BaselineResult(description: "No poison: the victims as trained (no update).", stepSize: 0,
                                        victims: evaluator.evaluate(heldout, poison: nil, before: before).victims),
        ]
        let candidates = [
            ("random_real", "\(spec.imagesPerClass) random real training images per class, class \(forget) relabelled \(target).",
             try Baselines.randomReal(data.train, perClass: spec.imagesPerClass, forget: forget, target: target,
                                      seed: spec.seed &+ 7, template: poison.metadata)),
            ("class_means", "The mean training image of each class, class \(forget)'s relabelled \(target).",
             Baselines.classMeans(data.train, forget: forget, target: target, template: poison.metadata)),
        ]
        for (name, description, set) in candidates {
            var chosen = set
            let size = Baselines.chooseStepSize(set, evaluator: selection, victims: selectionVictims)
            chosen.stepSizes = chosen.stepSizes.map { _ in size }
            baselines[name] = BaselineResult(description: description, stepSize: Double(size),
                                             victims: evaluator.evaluate(heldout, poison: chosen, before: before, workers: workers).victims)
        }

        progress("probing robustness (step size ×0.5 and ×2, 8-bit PNG round trip)")
        var quantized = poison
        quantized.images = try eightBit(poison)
        let probes = [("step_x0.5", poison, Float(0.5)), ("step_x2", poison, 2), ("png_8bit", quantized, 1)]
        var robustness: [String: Stat] = [:]
        for (probe, variant, scale) in probes {
            let summary = evaluator.evaluate(heldout, poison: variant, stepScale: scale, before: before, workers: workers).summary
            robustness["asr_\(probe)"] = summary.after.asr
            robustness["other_drop_\(probe)"] = summary.otherAccuracyDrop
        }

        var allTimings = timings
        allTimings["evaluate"] = Date().timeIntervalSince(start)
        let names = data.info.classNames
        let report = AttackReport(
            run: RunInfo(name: name, created: RunInfo.timestamp(Date()), amnesiaVersion: Self.amnesiaVersion,
                         seed: spec.seed, timingsSeconds: allTimings),
            threatModel: ThreatModel(knowledge: spec.knowledge == .fixed ? .fixed : .distribution,
                                     forgetClass: forget, targetClass: target, forgetName: names[forget],
                                     targetName: names[target], poisonImages: poison.labels.count,
                                     steps: poison.steps, epochs: poison.epochs),
            dataset: ReportDataset(name: data.info.name, classNames: names,
                                   mean: data.normalization.mean.map(Double.init), std: data.normalization.std.map(Double.init)),
            poison: PoisonInfo(file: "poison.safetensors", gridPNG: "poison.png", images: poison.labels.count,
                               learnedStepSizes: poison.stepSizes.map(Double.init)),
            results: AttackResults(heldout: heldoutResult, known: known, crafting: craftingResult),
            baselines: baselines, robustness: robustness, config: try configStrings())
        return report
    }

    /// Writes the report files (and the poison grid they embed) into the run folder.
    public func write(_ report: AttackReport) throws {
        let grid = directory.appendingPathComponent("poison.png")
        let images = (try? Data(contentsOf: grid)).map { ["poison.png": $0] } ?? [:]
        try ReportWriter.write(report: report, images: images, to: directory)
    }

    /// 2,000 training images (a fixed sample) for choosing baseline step sizes.
    func validationSample() throws -> LabeledImages {
        var rng = SeededGenerator(seed: spec.seed &+ 11)
        return try data.train.subset(Array((0..<data.train.count).shuffled(using: &rng).prefix(2000)))
    }

    /// The poison's images after an 8-bit PNG round trip (de-normalize, clamp, round).
    func eightBit(_ poison: PoisonSet) throws -> Tensor {
        let normalization = Normalization(mean: poison.metadata.mean, std: poison.metadata.std)
        let plane = poison.imageShape[1] * poison.imageShape[2]
        let pixels = try normalization.invert(poison.images.scalars, channels: poison.imageShape[0], planeSize: plane)
            .map { (min(max($0, 0), 1) * 255).rounded() / 255 }
        return Tensor(shape: poison.images.shape,
                      scalars: try normalization.apply(to: pixels, channels: poison.imageShape[0], planeSize: plane))
    }

    /// The resolved configuration as flat key → value strings for the report.
    func configStrings() throws -> [String: String] {
        let json = try JSONSerialization.jsonObject(with: Self.resolvedConfig(spec: spec, zoo: zoo))
        var flat: [String: String] = ["run.config_hash": configHash]
        func walk(_ value: Any, _ path: String) {
            if let dict = value as? [String: Any] {
                for (key, child) in dict { walk(child, path.isEmpty ? key : "\(path).\(key)") }
            } else if let array = value as? [Any], path != "victims" {
                flat[path] = array.map { "\($0)" }.joined(separator: ", ")
            } else if path != "victims" {
                flat[path] = "\(value)"
            }
        }
        walk(json, "")
        return flat
    }
}
