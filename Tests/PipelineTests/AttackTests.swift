import Autodiff
import Datasets
import Distillation
import Evaluation
import Formats
import Foundation
import Networks
import Pipeline
import Poisoning
import Reports
import Results
import Specs
import TestSupport
import Testing
import Victims

/// A tiny zoo (synthetic 4-class data, LeNet) shared by the tests of this file.
enum TinyWorld {
    static func zoo(root: URL) throws -> Zoo {
        var spec = ZooSpec(name: "tiny")
        spec.dataset = "synthetic"
        (spec.crafting, spec.heldout, spec.seed) = (3, 2, 11)
        spec.training.epochs = 3
        spec.training.batchSize = 16
        spec.training.decayEpochs = []
        return try Zoo.train(spec: spec, root: root, workers: 2)
    }

    /// Two held-out victims trained with another recipe (plain SGD, another rate and
    /// initialization), and no crafting victims: the foreign-recipe set.
    static func foreignZoo(root: URL) throws -> Zoo {
        var spec = ZooSpec(name: "tiny-foreign")
        spec.dataset = "synthetic"
        (spec.crafting, spec.heldout, spec.seed) = (0, 2, 77)
        (spec.training.epochs, spec.training.batchSize, spec.training.decayEpochs) = (4, 8, [])
        (spec.training.learningRate, spec.training.momentum, spec.training.initialization) = (0.05, 0, .xavierNormal)
        return try Zoo.train(spec: spec, root: root, workers: 2)
    }

    /// The mean loss of a craft's last fifth of iterations over that of its first fifth:
    /// well below 1 when the engine improves its objective, about 1 when it is switched
    /// off (learning rate 0), as measured.
    static func lossRatio(_ losses: [Float]) -> Float {
        let fifth = max(1, losses.count / 5)
        return losses.suffix(fifth).reduce(0, +) / losses.prefix(fifth).reduce(0, +)
    }

    /// The poison `spec` crafts on `zoo`, and the one it crafts with its engine switched off
    /// (learning rates 0: the starting images, step and labels, scored the same way).
    static func craftedAndSwitchedOff(_ spec: AttackSpec, zoo: Zoo, root: URL) throws -> (crafted: PoisonSet, off: PoisonSet) {
        var off = spec
        (off.optimizer.learningRate, off.optimizer.stepSizeLearningRate) = (0, 0)
        let crafted = try #require(try AttackRun(spec: spec, zoo: zoo, reportsRoot: root.appendingPathComponent("on")).craft(resume: false))
        let start = try #require(try AttackRun(spec: off, zoo: zoo, reportsRoot: root.appendingPathComponent("off")).craft(resume: false))
        return (crafted.poison, start.poison)
    }

    static func attack(iterations: Int = 40) -> AttackSpec {
        var spec = AttackSpec(name: "tiny-attack", zoo: "tiny", forget: "0", target: "1")
        spec.imagesPerClass = 2
        spec.iterations = iterations
        spec.victimsPerIteration = 2
        spec.realBatchSize = 64
        spec.initialStepSize = 0.1
        spec.optimizer.learningRate = 0.1
        spec.optimizer.stepSizeLearningRate = 0.1
        return spec
    }
}

@Suite("The K→T attack end to end on a tiny problem", .serialized)
struct AttackTests {
    @Test("crafting raises held-out ASR far above the no-poison control, and the report has the schema's paths")
    func attackWorks() throws {
        let root = try temporaryDirectory()
        let run = try AttackRun(spec: TinyWorld.attack(), zoo: TinyWorld.zoo(root: root), foreignZoo: TinyWorld.foreignZoo(root: root),
                                reportsRoot: root.appendingPathComponent("reports"))
        let crafted = try #require(try run.craft(resume: false))
        let report = try run.evaluate(crafted.poison)
        let summary = report.results.heldout.summary
        #expect(report.results.foreign?.victims.count == 2, "the foreign-recipe victims are scored too")
        let worst = try #require(summary.worstOtherClassDrop)
        #expect(worst.classIndex != 0)
        let perClassDrops = (1..<4).map { c in report.results.heldout.victims.map { $0.before.perClass[c] - $0.after.perClass[c] }.reduce(0, +) / 2 }
        #expect(abs(worst.drop - perClassDrops.max()!) < 1e-12, "the worst class is the largest mean drop outside K")
        #expect(summary.before.asr.mean < 0.1)
        #expect(summary.after.asr.mean > 0.6, "ASR after \(summary.after.asr.mean)")
        #expect(summary.after.asr.mean > (report.baselines["no_poison"]?.summary.after.asr.mean ?? 1) + 0.5)
        #expect(Set(report.baselines.keys) == ["no_poison", "random_real", "kmeans", "class_means"])
        let probes = ["step_x0.5", "step_x2", "png_8bit"]
        #expect(Set(report.robustness?.keys ?? [:].keys) == Set(probes.flatMap { ["asr_\($0)", "other_drop_\($0)"] }))
        try run.write(report)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: run.directory.appendingPathComponent("report.json")))
        let results = try #require((json as? [String: Any])?["results"] as? [String: Any])
        let heldout = try #require(results["heldout"] as? [String: Any])
        #expect(results["foreign"] != nil && (heldout["summary"] as? [String: Any])?["worst_other_class_drop"] != nil)
        let after = try #require(((heldout["summary"] as? [String: Any])?["after"] as? [String: Any])?["asr"] as? [String: Any])
        #expect((after["mean"] as? Double).map { (0...1).contains($0) } == true)
        for file in ["report.md", "report.html", "victims.csv", "poison.png", "poison.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: run.directory.appendingPathComponent(file).path), "\(file)")
        }
        #expect(!FileManager.default.fileExists(atPath: run.directory.appendingPathComponent("checkpoint.safetensors").path),
                "the checkpoint is gone once the poison is written")

        // A poison set saved and reloaded evaluates to identical metrics.
        let reloaded = try PoisonSet(contentsOf: run.poisonURL)
        #expect(reloaded.images.scalars == crafted.poison.images.scalars && reloaded.stepSizes == crafted.poison.stepSizes)
        #expect(try run.evaluate(reloaded).results.heldout == report.results.heldout)
    }

    @Test("an interrupted craft resumes from its checkpoint to the same poison")
    func resume() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root)
        let reports = root.appendingPathComponent("reports")
        let straight = try #require(try AttackRun(spec: TinyWorld.attack(iterations: 12), zoo: zoo, reportsRoot: reports)
            .craft(resume: false, checkpointEvery: 5))
        try FileManager.default.removeItem(at: reports)

        let run = try AttackRun(spec: TinyWorld.attack(iterations: 12), zoo: zoo, reportsRoot: reports)
        let calls = Counter()
        let stopped = try run.craft(resume: false, checkpointEvery: 5, shouldStop: { calls.next() > 7 })
        #expect(stopped == nil)
        let resumed = try #require(try run.craft(resume: true, checkpointEvery: 5))
        #expect(resumed.poison.images.scalars == straight.poison.images.scalars)
        #expect(resumed.poison.stepSizes == straight.poison.stepSizes)
    }

    @Test("a poison written by another tool with minimal metadata evaluates without editing the file")
    func foreignPoison() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root)
        // As a PyTorch script might write it: bare-number mean and std, no steps or epochs.
        var file = SafeTensors(metadata: ["dataset": "synthetic", "mean": "0.5", "std": "0.25", "K": "0", "T": "1"])
        try file.add(name: "images", floats: [Float](repeating: 0.1, count: 4 * 784), shape: [4, 1, 28, 28])
        try file.add(name: "labels", int64s: [0, 1, 2, 3], shape: [4])
        try file.add(name: "lrs", floats: [0.01], shape: [1])
        let url = root.appendingPathComponent("poison.safetensors")
        try file.write(to: url)
        let evaluation = try PoisonEvaluation(poisonURL: url, overrides: .init(), zoo: zoo,
                                              reportsRoot: root.appendingPathComponent("reports"))
        #expect(evaluation.poison.steps == 1 && evaluation.poison.epochs == 1 && evaluation.poison.metadata.mean == [0.5])
        #expect(evaluation.warnings.contains { $0.contains("normalization") }, "the zoo's synthetic statistics differ")
        #expect(evaluation.directory.lastPathComponent.hasPrefix("evaluate-poison-"))
        let report = try evaluation.run(defenses: [.gate(maxDrop: 0.05), .dilution(clean: 50), .clustering(clean: 50, maxShare: 0.35)])
        #expect(report.results.heldout.victims.count == 2)
        #expect(report.defenses?.map(\.key) == ["gate:max_drop=0.05", "dilution:clean=50", "clustering:clean=50,max_share=0.35"])
        #expect(report.defenses?.first?.controls.keys.contains("random_real") == true)
        #expect(report.defenses?[2].detection?.victims.map(\.clean) == [50, 50] && report.defenses?[1].detection == nil)
        let markdown = try String(contentsOf: evaluation.directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("## Defenses") && markdown.contains("`gate:max_drop=0.05`") && markdown.contains("Detector TPR / FPR / F1"))
        let html = try String(contentsOf: evaluation.directory.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("ASR under each defense"), "the defense chart")
        #expect(report.poison.learnedStepSizes == [Double(Float(0.01))])
        #expect(Set(report.baselines.keys) == ["no_poison", "random_real", "kmeans", "class_means"])
        #expect(report.config["zoo.name"] == "tiny" && report.config["training.epochs"] == nil)
        for name in ["report.html", "poison.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: evaluation.directory.appendingPathComponent(name).path))
        }

        // Another file of the same name gets its own folder.
        file.metadata["T"] = "2"
        try file.write(to: url)
        let other = try PoisonEvaluation(poisonURL: url, overrides: .init(), zoo: zoo, reportsRoot: root.appendingPathComponent("reports"))
        #expect(other.directory != evaluation.directory)

        // While another process evaluates into the folder, a second evaluation stops at once.
        try withExtendedLifetime(FolderLock(other.directory, purpose: "evaluating this poison")) {
            let busy = #expect(throws: FormatError.self) { try other.run() }
            #expect(busy?.description.contains("is evaluating this poison in this folder") == true)
        }
    }
}

@Suite("Bad input gives one clear message", .serialized)
struct BadInputTests {
    @Test("unknown class name, K = T, missing metadata, wrong poison shape, zoo without held-out victims")
    func badInputs() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root)
        var spec = TinyWorld.attack()
        spec.forget = "Sneaker"
        #expect(throws: SpecError.self) { try AttackRun(spec: spec, zoo: zoo, reportsRoot: root) }
        do { _ = try AttackRun(spec: spec, zoo: zoo, reportsRoot: root) } catch { #expect("\(error)".contains("'Sneaker' is not a class")) }
        spec.forget = "1"
        do { _ = try AttackRun(spec: spec, zoo: zoo, reportsRoot: root); Issue.record("K = T accepted") } catch {
            #expect("\(error)".contains("choose two different classes"))
        }

        var file = SafeTensors(metadata: ["dataset": "synthetic"])
        try file.add(name: "images", floats: [Float](repeating: 0, count: 4 * 9), shape: [4, 1, 3, 3])
        try file.add(name: "labels", int64s: [0, 1, 2, 3], shape: [4])
        try file.add(name: "lrs", floats: [0.01], shape: [1])
        let url = root.appendingPathComponent("bad.safetensors")
        try file.write(to: url)
        do { _ = try PoisonSet(contentsOf: url); Issue.record("missing metadata accepted") } catch {
            for key in ["'mean' is missing", "'std' is missing", "'K'", "'T'"] {
                #expect("\(error)".contains(key), "one message lists every missing key: \(key)")
            }
        }
        let supplied = try PoisonSet(contentsOf: url, overrides: .init(mean: [0], std: [1], forget: 0, target: 1))
        #expect(supplied.metadata.forget == 0 && supplied.steps == 1)
        file.metadata = ["dataset": "synthetic", "mean": "[0]", "std": "[1]", "K": "0", "T": "1", "steps": "1", "epochs": "1"]
        try file.write(to: url)
        let small = try PoisonSet(contentsOf: url)
        let run = try AttackRun(spec: TinyWorld.attack(), zoo: zoo, reportsRoot: root)
        do { _ = try run.evaluate(small); Issue.record("a 3×3 poison was applied to 28×28 victims") } catch {
            #expect("\(error)".contains("victims take [1, 28, 28]"))
        }

        var noHeldout = ZooSpec(name: "no-heldout")
        noHeldout.dataset = "synthetic"
        (noHeldout.crafting, noHeldout.heldout) = (1, 0)
        noHeldout.training.epochs = 1
        let lonely = try Zoo.train(spec: noHeldout, root: root, workers: 1)
        do { _ = try AttackRun(spec: TinyWorld.attack(), zoo: lonely, reportsRoot: root); Issue.record("accepted") } catch {
            #expect("\(error)".contains("no held-out victims"))
        }
    }
}

/// Counts calls from a @Sendable closure.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.withLock { value += 1; return value } }
}

@Suite("The audit's vulnerability matrix", .serialized)
struct AuditTests {
    @Test("scores the chosen pairs on held-out victims, saves each pair, and resumes without redoing them")
    func auditPairs() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root)
        let audit = try Audit(zoo: zoo, template: TinyWorld.attack(iterations: 40), pairs: [(0, 1), (2, 3)],
                              reportsRoot: root)
        let report = try #require(try audit.run())
        #expect(report.pairs.map { [$0.forget, $0.target] } == [[0, 1], [2, 3]])
        #expect(report.pairs.allSatisfy { $0.asr.count == 2 && $0.asr.mean > 0.3 }, "\(report.pairs.map(\.asr.mean))")
        // The config records the template's settings as a run's report does (nested ones as dotted keys).
        #expect(report.config["attack.optimizer.learning_rate"] == "0.1", "\(report.config)")
        #expect(report.config["attack.iterations"] == "40")
        #expect(report.config["attack.learn_labels"] == "false", "booleans read as booleans, not 0/1")

        let messages = Messages()
        let again = try #require(try audit.run(progress: { messages.add($0) }))
        #expect(messages.all.isEmpty, "saved pairs are not crafted again")
        #expect(again.pairs == report.pairs)
        try withExtendedLifetime(FolderLock(audit.directory, purpose: "auditing")) {
            let busy = #expect(throws: FormatError.self) { try audit.run() }
            #expect(busy?.description.contains("is auditing in this folder") == true)
        }   // released here, before the defended run below
        #expect(throws: SpecError.self) {
            try Audit(zoo: zoo, template: TinyWorld.attack(), pairs: [(1, 1)], reportsRoot: root)
        }

        // With a defense: the same folder (defenses act at evaluation), the saved poisons
        // re-scored without crafting, one defended matrix per defense in the report.
        let defended = try Audit(zoo: zoo, template: TinyWorld.attack(iterations: 40), pairs: [(0, 1), (2, 3)],
                                 reportsRoot: root, defenses: [.stepCap(max: 1e-6)])
        #expect(defended.directory.lastPathComponent == audit.directory.lastPathComponent)
        let crafting = Messages()
        let withDefense = try #require(try defended.run(progress: { crafting.add($0) }))
        #expect(crafting.all.count == 2, "both saved pairs lacked the defense, so both are scored again")
        #expect(withDefense.pairs.map(\.asr) == report.pairs.map(\.asr), "the same poisons, undefended")
        #expect(withDefense.defenseKeys == [DefenseSpec.stepCap(max: 1e-6).key])
        for pair in withDefense.pairs {
            let capped = try #require(pair.defended(withDefense.defenseKeys[0]))
            #expect(capped.asr.mean < pair.asr.mean - 0.2, "a near-zero step leaves the victims as they were: \(capped.asr.mean) vs \(pair.asr.mean)")
        }
        let page = ReportPage(withDefense)
        #expect(page.sections.filter { if case .matrix = $0 { true } else { false } }.count == 2)
    }
}

final class Messages: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

@Suite("Attack options on the tiny problem", .serialized)
struct AttackOptionTests {
    @Test("a poison crafted through a step cap beats the plain poison under that cap on held-out victims")
    func adaptiveStepCap() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root)
        let cap = DefenseSpec.stepCap(max: 0.02)
        var plain = try AttackRun(spec: TinyWorld.attack(iterations: 60), zoo: zoo, reportsRoot: root)
        plain.evaluationDefenses = [cap]   // scored under the cap, not crafted against it
        var spec = TinyWorld.attack(iterations: 60)
        spec.defenses = [cap]
        let adaptive = try AttackRun(spec: spec, zoo: zoo, reportsRoot: root)
        #expect(adaptive.directory != plain.directory, "the spec's defenses change what is crafted")
        func underCap(_ run: AttackRun) throws -> Double {
            let crafted = try #require(try run.craft(resume: false))
            return try #require(try run.evaluate(crafted.poison).defenses?.first { $0.key == cap.key }).summary.after.asr.mean
        }
        let (p, a) = (try underCap(plain), try underCap(adaptive))
        #expect(a > p + 0.1, "adaptive \(a) vs plain \(p) under the cap")
    }

    @Test("learned soft labels: rows sum to one, move away from one-hot, survive the file, resume exactly, and still attack")
    func learnedLabels() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root)
        var spec = TinyWorld.attack(iterations: 40)
        spec.learnLabels = true
        spec.optimizer.labelLearningRate = 0.1
        let run = try AttackRun(spec: spec, zoo: zoo, reportsRoot: root.appendingPathComponent("a"))
        let crafted = try #require(try run.craft(resume: false, checkpointEvery: 10))
        let soft = try #require(crafted.poison.softLabels)
        #expect(soft.shape == [8, 4])
        for row in 0..<8 {
            let values = Array(soft.scalars[(row * 4)..<(row * 4 + 4)])
            #expect(abs(values.reduce(0, +) - 1) < 1e-4)
        }
        let oneHotAt09 = Tensor.oneHot(crafted.poison.labels, classes: 4).scalars.map { $0 * 0.8667 + 0.0333 }
        #expect(zip(soft.scalars, oneHotAt09).contains { abs($0 - $1) > 0.01 }, "the labels were learned")
        let reloaded = try PoisonSet(contentsOf: run.poisonURL)
        #expect(reloaded.softLabels?.scalars == soft.scalars)
        let report = try run.evaluate(reloaded)
        let control = report.baselines["no_poison"]?.summary.after.asr.mean ?? 1
        #expect(report.results.heldout.summary.after.asr.mean > control + 0.3,
                "ASR \(report.results.heldout.summary.after.asr.mean), no poison \(control)")

        let interrupted = try AttackRun(spec: spec, zoo: zoo, reportsRoot: root.appendingPathComponent("b"))
        let calls = Counter()
        #expect(try interrupted.craft(resume: false, checkpointEvery: 10, shouldStop: { calls.next() > 25 }) == nil)
        let resumed = try #require(try interrupted.craft(resume: true, checkpointEvery: 10))
        #expect(resumed.poison.softLabels?.scalars == soft.scalars)
        #expect(resumed.poison.images.scalars == crafted.poison.images.scalars)
    }

    @Test("forget_share puts that share of class K in every real batch")
    func forgetShare() throws {
        let data = try PreparedData.load(dataset: "synthetic")
        var spec = TinyWorld.attack()
        spec.forgetShare = 0.5
        let objective = spec.makeObjective(forget: 2, target: 1, train: data.train)
        var rng = SeededGenerator(seed: 3)
        let batch = objective.realBatch(size: spec.realBatchSize, using: &rng)
        #expect(batch.count == spec.realBatchSize)
        #expect(batch.filter { data.train.labels[$0] == 2 }.count == spec.realBatchSize / 2)
        spec.forgetShare = 1.5
        #expect(spec.problem?.contains("forget_share") == true)
    }
}
