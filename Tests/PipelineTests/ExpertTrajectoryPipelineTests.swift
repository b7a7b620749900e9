import Distillation
import Foundation
import Pipeline
import TestSupport
import Testing

/// MTT's distillation form through the distill run: experts cached in the zoo's folder.
@Suite("Expert trajectories on the tiny init zoo", .serialized)
struct ExpertTrajectoryPipelineTests {
    @Test("a distill run trains its experts into the zoo's experts/ folder once; a second run of another spec reuses them untouched")
    func expertsCachedInZoo() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyDistillation.initZoo(root: root)
        var spec = TinyDistillation.spec(zoo: "tiny-init", knowledge: .distribution, epochs: 10, iterations: 10)
        spec.method = .expertTrajectories
        var options = ExpertTrajectoryOptions()
        (options.experts, options.trainEpochs, options.expertEpochs, options.maxStartEpoch) = (2, 3, 2, 2)
        (options.syntheticSteps, options.expertLearningRate, options.expertBatchSize) = (4, 0.05, 32)
        spec.expertTrajectories = options
        let (_, report) = try TinyDistillation.distill(spec, zoo: zoo, root: root)
        #expect(report.poison.learnedStepSizes.count == 10 && report.results.heldout.summary.after.accuracy.mean.isFinite)
        let folder = zoo.directory.appendingPathComponent("experts")
        func stamps() throws -> [String: Date] {
            try Dictionary(uniqueKeysWithValues: FileManager.default.contentsOfDirectory(atPath: folder.path).map { name in
                (name, try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path)[.modificationDate] as? Date ?? .distantPast)
            })
        }
        let first = try stamps()
        #expect(first.count == 2 && first.keys.allSatisfy { $0.hasSuffix(".safetensors") }, "\(first)")
        spec.name = "tiny-distill-again"
        spec.iterations = 3
        _ = try AttackRun(spec: spec, zoo: zoo, reportsRoot: root.appendingPathComponent("reports")).craft(resume: false)
        #expect(try stamps() == first, "the second run read the experts and wrote none")
    }
}
