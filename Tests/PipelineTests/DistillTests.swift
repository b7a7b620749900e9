import Distillation
import Evaluation
import Foundation
import Pipeline
import Poisoning
import Reports
import Results
import TestSupport
import Testing
import Victims
import Vocabulary

/// Tiny zoos for the four settings of the initial weights (synthetic 4-class data, LeNet).
enum TinyDistillation {
    /// Untrained initializations: 12 crafting seeds, 2 held-out seeds.
    static func initZoo(root: URL) throws -> Zoo {
        var spec = ZooSpec(name: "tiny-init")
        spec.dataset = "synthetic"
        (spec.crafting, spec.heldout, spec.seed) = (12, 2, 21)
        (spec.training.epochs, spec.training.initialization) = (0, .xavierNormal)
        return try Zoo.train(spec: spec, root: root, workers: 2)
    }

    /// Networks pretrained on classes 0 and 1 only.
    static func pretrainedZoo(root: URL) throws -> Zoo {
        var spec = ZooSpec(name: "tiny-pretrained")
        spec.dataset = "synthetic"
        (spec.crafting, spec.heldout, spec.seed, spec.trainClasses) = (3, 2, 31, [0, 1])
        (spec.training.epochs, spec.training.batchSize, spec.training.decayEpochs) = (2, 16, [])
        return try Zoo.train(spec: spec, root: root, workers: 2)
    }

    static func spec(zoo: String, knowledge: Knowledge, steps: Int = 1, epochs: Int = 2, iterations: Int = 100) -> AttackSpec {
        var spec = AttackSpec(name: "tiny-distill", zoo: zoo, forget: "0", target: "0")
        spec.objective = .standard
        spec.knowledge = knowledge
        (spec.imagesPerClass, spec.steps, spec.epochs, spec.iterations) = (1, steps, epochs, iterations)
        (spec.victimsPerIteration, spec.realBatchSize, spec.initialStepSize) = (2, 32, 0.1)
        (spec.optimizer.learningRate, spec.optimizer.stepSizeLearningRate) = (0.03, 0.03)
        return spec
    }

    static func distill(_ spec: AttackSpec, zoo: Zoo, root: URL) throws -> (DistillRun, DistillReport) {
        let run = try DistillRun(AttackRun(spec: spec, zoo: zoo, reportsRoot: root.appendingPathComponent("reports")))
        let distilled = try #require(try run.run.craft(resume: false))
        let report = try run.evaluate(distilled.poison)
        try run.write(report)
        return (run, report)
    }
}

@Suite("Dataset distillation in the paper's four settings, on a tiny problem", .serialized)
struct DistillTests {
    @Test("random init: distilled on crafting seeds, it trains held-out initializations far above chance and above no training")
    func randomInit() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyDistillation.initZoo(root: root)
        #expect(zoo.manifest.victims.allSatisfy { $0.warning == nil }, "untrained initializations carry no low-accuracy warning")
        let (run, report) = try TinyDistillation.distill(TinyDistillation.spec(zoo: "tiny-init", knowledge: .distribution, iterations: 300),
                                                         zoo: zoo, root: root)
        #expect(run.setting == .randomInit && report.headline == "heldout")
        let accuracy = report.results.heldout.summary
        #expect(report.results.heldout.victims.map(\.role) == [.heldout, .heldout])
        #expect(accuracy.before.accuracy.mean < 0.45, "untrained: near chance (0.25), got \(accuracy.before.accuracy.mean)")
        // 300 iterations on 12 initializations. Measured held-out mean / worst victim, 2 zoo
        // seeds × default and Haswell/baseline kernels: 0.69-0.88 / 0.50-0.75 (before: at
        // most 0.25) with the im2col convolutions, 0.53 mean with the direct ones on
        // Haswell/baseline. After 100 iterations one held-out victim stayed at chance on one path.
        #expect(accuracy.after.accuracy.mean > 0.45 && accuracy.after.accuracy.min > accuracy.before.accuracy.max + 0.1,
                "distilled steps train the held-out initializations: \(accuracy.before.accuracy.mean) → \(accuracy.after.accuracy.mean) (worst \(accuracy.after.accuracy.min))")
        #expect(Set(report.baselines.keys) == ["random_real", "kmeans", "class_means"])
        #expect(report.poison.learnedStepSizes.count == 2, "one learned step size per step and epoch (1 × 2)")
        #expect(report.baselines.values.allSatisfy { $0.victims.count == 2 && StepSizeScorer.candidates.contains(Float($0.stepSize)) })
        #expect(report.baselines["random_real"]?.description.contains("2 step(s)") == true, "baselines take as many steps")
        for file in ["report.json", "report.md", "report.html", "poison.png", "poison.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: run.directory.appendingPathComponent(file).path), "\(file)")
        }
        let markdown = try String(contentsOf: run.directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("Distillation, random-init") && markdown.contains("| kmeans |")
                && markdown.contains("## Distilled data") && markdown.contains("## Per-class accuracy"))
        let reread = try DistillReport(jsonData: Data(contentsOf: run.directory.appendingPathComponent("report.json")))
        #expect(reread == report)
        try FileManager.default.removeItem(at: run.directory.appendingPathComponent("report.html"))
        try ReportWriter.rerender(directory: run.directory)
        let html = try String(contentsOf: run.directory.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("Distillation, random-init") && html.contains("data:image/png;base64,"))
    }

    @Test("fixed init: the known initialization is the headline, the others are reported beside it")
    func fixedInit() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyDistillation.initZoo(root: root)
        let (run, report) = try TinyDistillation.distill(TinyDistillation.spec(zoo: "tiny-init", knowledge: .fixed, iterations: 60),
                                                         zoo: zoo, root: root)
        #expect(run.setting == .fixedInit && report.headline == "known")
        let known = try #require(report.results.known)
        #expect(known.victims.map(\.id) == ["crafting-000"] && report.results.heldout.victims.count == 2)
        #expect(known.summary.after.accuracy.mean > 0.9, "fixed init trained by 4 images taken twice: \(known.summary.after.accuracy.mean)")
        #expect(report.baselines.values.allSatisfy { $0.victims.map(\.id) == ["crafting-000"] }, "baselines on the same network")
    }

    @Test("pretrained on half the classes: the distilled steps adapt the networks to all of them")
    func pretrained() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyDistillation.pretrainedZoo(root: root)
        #expect(zoo.manifest.victims.allSatisfy { $0.perClassAccuracy[2] < 0.05 && $0.perClassAccuracy[3] < 0.05 },
                "trained on classes 0 and 1 only, they never predict 2 or 3")
        let (run, report) = try TinyDistillation.distill(TinyDistillation.spec(zoo: "tiny-pretrained", knowledge: .fixed, iterations: 60),
                                                         zoo: zoo, root: root)
        #expect(run.setting == .fixedPretrained)
        let s = try #require(report.results.known).summary
        #expect(s.before.accuracy.mean < 0.55 && s.after.accuracy.mean > 0.9, "\(s.before.accuracy.mean) → \(s.after.accuracy.mean)")
        #expect(s.after.perClass[2].mean > 0.8 && s.after.perClass[3].mean > 0.8, "the two new classes are learned")
        #expect(report.settingDescription.contains("classes 0, 1 only"))
        let random = try DistillRun(AttackRun(spec: TinyDistillation.spec(zoo: "tiny-pretrained", knowledge: .distribution), zoo: zoo,
                                              reportsRoot: root))
        #expect(random.setting == .randomPretrained)
    }

    @Test("distill refuses the forget objective, and a forget spec still needs its classes")
    func objectives() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyDistillation.initZoo(root: root)
        var spec = TinyDistillation.spec(zoo: "tiny-init", knowledge: .distribution)
        spec.objective = .forget
        spec.target = "1"
        #expect(errorText { _ = try DistillRun(AttackRun(spec: spec, zoo: zoo, reportsRoot: root)) }
            .contains("needs objective: standard"))
        let url = root.appendingPathComponent("spec.yaml")
        try "name: d\nzoo: z\nobjective: standard\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(try AttackSpec.load(url).forget == "0", "standard distillation needs no classes")
        try "name: d\nzoo: z\nobjective: forget\ntarget: 1\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(errorText { _ = try AttackSpec.load(url) }.contains("forget"))
    }
}
