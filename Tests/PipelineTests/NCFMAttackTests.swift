import Distillation
import Foundation
import Pipeline
import Testing
import TestSupport

@Suite("NCFM as the attack engine on the tiny problem", .serialized)
struct NCFMAttackTests {
    @Test("CF matching to the K→T relabelled real batches: the poison raises held-out ASR above the no-poison control")
    func attack() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root)
        var spec = TinyWorld.attack(iterations: 30)
        spec.method = .ncfm
        spec.initialImages = .relabelled
        spec.ncfm = NCFMOptions()
        spec.optimizer.learningRate = 0.05
        let run = try AttackRun(spec: spec, zoo: zoo, reportsRoot: root.appendingPathComponent("a"))
        let crafted = try #require(try run.craft(resume: false, checkpointEvery: 10))
        #expect(crafted.poison.softLabels == nil && crafted.poison.stepSizes.count == 1)
        let report = try run.evaluate(crafted.poison)
        let asr = report.results.heldout.summary.after.asr.mean
        let control = report.baselines["no_poison"]?.summary.after.asr.mean ?? 1
        #expect(asr > control + 0.2, "NCFM ASR \(asr), no poison \(control), random real \(report.baselines["random_real"]?.summary.after.asr.mean ?? -1)")
    }
}
