import Distillation
import Evaluation
import Foundation
import Pipeline
import Poisoning
import Results
import TestSupport
import Testing
import Victims

/// Gradient and distribution matching on the tiny zoos: they distill, they attack, they resume.
@Suite("Matching methods on a tiny problem (issue 17)", .serialized)
struct MatchingPipelineTests {
    static func distillSpec(_ method: MethodKind, dsa: Bool = false) -> AttackSpec {
        var spec = TinyDistillation.spec(zoo: "tiny-init", knowledge: .distribution, epochs: 20, iterations: 15)
        spec.method = method
        spec.optimizer.learningRate = 0.05
        switch method {
        case .gradientMatching:
            var options = GradientMatchingOptions()
            (options.outerLoops, options.networkSteps, options.networkLearningRate, options.realPerClass, options.dsa) = (3, 2, 0.05, 16, dsa)
            spec.gradientMatching = options
        default:
            // One cheap first-order update per iteration: more of them, larger.
            (spec.iterations, spec.optimizer.learningRate) = (60, 0.1)
            var options = DistributionMatchingOptions()
            (options.realPerClass, options.dsa) = (32, dsa)
            spec.distributionMatching = options
        }
        return spec
    }

    @Test("distilled from noise on crafting initializations, each method trains held-out initializations far above chance",
          arguments: [(MethodKind.gradientMatching, false), (.gradientMatching, true), (.distributionMatching, false), (.distributionMatching, true)])
    func distills(_ method: MethodKind, _ dsa: Bool) throws {
        let root = try temporaryDirectory()
        let zoo = try TinyDistillation.initZoo(root: root)
        let (_, report) = try TinyDistillation.distill(Self.distillSpec(method, dsa: dsa), zoo: zoo, root: root)
        let accuracy = report.results.heldout.summary
        #expect(accuracy.before.accuracy.mean < 0.45)
        // GM without DSA measured 0.68 with OPENBLAS_CORETYPE=Prescott (above 0.7 on the default
        // and Haswell/baseline paths); with the engine off (learning rate 0) all four stay at 0.25.
        #expect(accuracy.after.accuracy.mean > 0.55, "\(method) dsa \(dsa): \(accuracy.before.accuracy.mean) → \(accuracy.after.accuracy.mean); random real \(report.baselines["random_real"]?.summary.after.accuracy.mean ?? -1)")
        #expect(report.poison.learnedStepSizes.count == 20 && Set(report.poison.learnedStepSizes).count == 1, "one fitted step size, taken 20 times")
        #expect(StepSizeScorer.candidates.contains(Float(report.poison.learnedStepSizes[0])))
    }

    @Test("as attack engines, each lowers its matching loss to the K→T batches well below where it starts, and is scored against the controls",
          arguments: [MethodKind.gradientMatching, .distributionMatching])
    func attacks(_ method: MethodKind) throws {
        let root = try temporaryDirectory()
        var spec = TinyWorld.attack(iterations: 30)
        (spec.method, spec.initialImages, spec.optimizer.learningRate) = (method, .relabelled, 0.05)
        let run = try AttackRun(spec: spec, zoo: TinyWorld.zoo(root: root), reportsRoot: root.appendingPathComponent("reports"))
        var losses: [Float] = []
        let crafted = try #require(try run.craft(resume: false, progress: { losses.append($0.loss) }))
        #expect(crafted.poison.labels.prefix(2) == [1, 1], "block K is labelled T")
        #expect(losses.count == 30 && losses.allSatisfy { $0.isFinite })
        // Measured (last fifth over first fifth, default and Haswell/baseline kernels):
        // GM 0.61 / 0.59, DM 0.22 / 0.22; with the engine off (learning rate 0) 1.03 and 1.32.
        // No ASR bound: on this problem the relabelled start already reaches ASR 1 with the
        // controls' step, and the engines' held-out ASR moves with float order (DM: 0.10 on
        // the default kernels, 1.00 on Haswell/baseline: the fitted step size flips).
        #expect(TinyWorld.lossRatio(losses) < 0.8, "\(method): losses \(losses)")
        let report = try run.evaluate(crafted.poison)
        #expect(report.baselines["no_poison"] != nil && report.baselines["random_real"] != nil)
        #expect((0...1).contains(report.results.heldout.summary.after.asr.mean))
    }

    @Test("an interrupted matching run resumes from its checkpoint to the same images",
          arguments: [(MethodKind.gradientMatching, true), (.distributionMatching, true)])
    func resumes(_ method: MethodKind, _ dsa: Bool) throws {
        let root = try temporaryDirectory()
        let zoo = try TinyDistillation.initZoo(root: root)
        let reports = root.appendingPathComponent("reports")
        var spec = Self.distillSpec(method, dsa: dsa)
        (spec.iterations, spec.epochs) = (6, 2)
        let straight = try #require(try AttackRun(spec: spec, zoo: zoo, reportsRoot: reports).craft(resume: false, checkpointEvery: 2))
        try FileManager.default.removeItem(at: reports)
        let run = try AttackRun(spec: spec, zoo: zoo, reportsRoot: reports)
        let calls = Counter()
        let stopped = try run.craft(resume: false, checkpointEvery: 2, shouldStop: { calls.next() > 3 })
        #expect(stopped == nil)
        let resumed = try #require(try run.craft(resume: true, checkpointEvery: 2))
        #expect(resumed.poison.images.scalars == straight.poison.images.scalars)
        #expect(resumed.poison.stepSizes == straight.poison.stepSizes)
        #expect(straight.poison.images.scalars.allSatisfy { $0.isFinite })
    }
}
