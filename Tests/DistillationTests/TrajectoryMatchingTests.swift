import Autodiff
import Datasets
import Distillation
import Formats
import Foundation
import Networks
import Specs
import Testing

@Suite("Trajectory matching (MTT)")
struct TrajectoryMatchingTests {
    /// Trajectory matching on the synthetic 4-class data from `networks` random LeNet
    /// initializations, forgetting class 0 as class 1.
    func method(_ configure: (inout AttackSpec) -> Void = { _ in }) throws -> TrajectoryMatching {
        var spec = AttackSpec(name: "t", zoo: "z", forget: "0", target: "1")
        spec.method = .trajectoryMatching
        (spec.imagesPerClass, spec.victimsPerIteration, spec.realBatchSize, spec.epochs) = (1, 2, 32, 2)
        spec.trajectoryMatching = TrajectoryOptions()
        spec.trajectoryMatching?.targetSteps = 3
        configure(&spec)
        let net = try LeNet(inputShape: [1, 28, 28], classes: 4)
        var rng = SeededGenerator(seed: 5)
        let victims = (0..<3).map { _ in net.initialParameters(using: &rng) }
        let context = spec.craftingContext(classifier: net, data: try PreparedData.load(dataset: "synthetic"), victims: victims,
                                           forget: 0, target: 1, architecture: "lenet")
        return TrajectoryMatching(spec: spec, context: context)
    }

    @Test("the normalized distance has the right first and second derivatives in the parameters, and is 1 at the start")
    func lossGradients() {
        var rng = SeededGenerator(seed: 1)
        let start = [Tensor.randomNormal([3, 4], using: &rng), Tensor.randomNormal([5], using: &rng)]
        let target = [Tensor.randomNormal([3, 4], using: &rng), Tensor.randomNormal([5], using: &rng)]
        let theta = [Tensor.randomNormal([3, 4], using: &rng), Tensor.randomNormal([5], using: &rng)]
        let mismatches = GradientCheck().mismatches(theta) { TrajectoryMatching.normalizedDistance($0, start: start, target: target) }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5).map(\.description).joined(separator: "; "))")
        #expect(abs(TrajectoryMatching.normalizedDistance(start, start: start, target: target).item - 1) < 1e-5)
        #expect(TrajectoryMatching.normalizedDistance(target, start: start, target: target).item == 0)
    }

    @Test("matching lowers the loss on the sampled victims, and a checkpoint resumes exactly (the cached targets included)")
    func learnsAndResumes() throws {
        let tm = try method { $0.iterations = 12; $0.initialImages = .real; $0.optimizer.learningRate = 0.05 }
        var straight = tm.initialState()
        for _ in 0..<tm.iterations { tm.iterate(&straight) }
        let (early, late) = (straight.losses.prefix(3).reduce(0, +), straight.losses.suffix(3).reduce(0, +))
        #expect(late < early, "\(straight.losses)")
        let fresh = try method { $0.iterations = 12; $0.initialImages = .real; $0.optimizer.learningRate = 0.05 }
        var first = fresh.initialState()
        for _ in 0..<5 { fresh.iterate(&first) }
        var file = SafeTensors(metadata: ["iteration": "5"])
        try first.save(into: &file)
        let other = try method { $0.iterations = 12; $0.initialImages = .real; $0.optimizer.learningRate = 0.05 }
        var resumed = other.initialState()
        try resumed.restore(from: file, source: "test")
        for _ in 5..<other.iterations { other.iterate(&resumed) }
        #expect(resumed.images.scalars == straight.images.scalars && resumed.rho == straight.rho)
        #expect(resumed.losses == straight.losses)
        let poison = tm.poisonSet(straight)
        #expect(poison.stepSizes.count == 2 && poison.softLabels == nil)
    }

    @Test("the trajectory_matching section: decoded strictly, refused without its method, positive targets, no learned labels")
    func spec() throws {
        let base = "name: a\nzoo: z\nforget: 0\ntarget: 1\n"
        func problem(_ yaml: String) throws -> String? { try SpecFile.decode(AttackSpec.self, yaml: base + yaml, file: "a.yaml").problem }
        let ok = "method: trajectory-matching\ntrajectory_matching:\n  target_steps: 30\n  target_learning_rate: 0.02\n"
        #expect(try problem(ok) == nil)
        #expect(try SpecFile.decode(AttackSpec.self, yaml: base + ok, file: "a.yaml").trajectoryMatching?.targetSteps == 30)
        #expect(try problem("trajectory_matching:\n  target_steps: 3\n")?.contains("set method: trajectory-matching") == true)
        #expect(try problem("method: trajectory-matching\ntrajectory_matching:\n  target_steps: 0\n")?.contains("target_steps") == true)
        #expect(try problem("method: trajectory-matching\ntrajectory_matching:\n  target_learning_rate: 0\n")?.contains("target_learning_rate") == true)
        #expect(try problem("method: trajectory-matching\nlearn_labels: true\n")?.contains("learn_labels") == true)
        #expect(try problem("method: trajectory-matching\nsteps: 2\n")?.contains("steps") == true)
        #expect(throws: (any Error).self) { try problem("method: trajectory-matching\ntrajectory_matching:\n  synthetic_steps: 1\n") }
    }
}
