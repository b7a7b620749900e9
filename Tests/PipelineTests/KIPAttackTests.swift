import Distillation
import Foundation
import Pipeline
import Testing
import TestSupport

@Suite("KIP as the attack engine on the tiny problem", .serialized)
struct KIPAttackTests {
    @Test("kernel regression fit to K→T targets: the poison raises held-out ASR above the no-poison control, and resumes exactly")
    func attack() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root)
        var spec = TinyWorld.attack(iterations: 30)
        spec.method = .kip
        spec.initialImages = .real
        spec.kip = KIPOptions()
        spec.kip?.labelSolve = true
        spec.optimizer.learningRate = 0.05
        let run = try AttackRun(spec: spec, zoo: zoo, reportsRoot: root.appendingPathComponent("a"))
        let crafted = try #require(try run.craft(resume: false, checkpointEvery: 10))
        #expect(crafted.poison.softLabels != nil && crafted.poison.stepSizes.count == 1)
        let report = try run.evaluate(crafted.poison)
        let asr = report.results.heldout.summary.after.asr.mean
        let control = report.baselines["no_poison"]?.summary.after.asr.mean ?? 1
        #expect(asr > control + 0.2, "KIP ASR \(asr), no poison \(control), random real \(report.baselines["random_real"]?.summary.after.asr.mean ?? -1)")

        let interrupted = try AttackRun(spec: spec, zoo: zoo, reportsRoot: root.appendingPathComponent("b"))
        let calls = Counter()
        #expect(try interrupted.craft(resume: false, checkpointEvery: 10, shouldStop: { calls.next() > 15 }) == nil)
        let resumed = try #require(try interrupted.craft(resume: true, checkpointEvery: 10))
        #expect(resumed.poison.images.scalars == crafted.poison.images.scalars)
        #expect(resumed.poison.softLabels?.scalars == crafted.poison.softLabels?.scalars)
    }
}
