import Autodiff
import Datasets
import Distillation
import Formats
import Foundation
import Networks
import Specs
import Testing
import Victims

@Suite("Kernel inducing points (KIP)")
struct KIPTests {
    /// KIP on the synthetic 4-class data: `networks` random LeNet initializations as the
    /// kernel's networks (the random-init setting), the standard objective.
    func method(networks: Int = 4, _ configure: (inout AttackSpec) -> Void = { _ in }) throws -> KernelInducingPoints {
        var spec = AttackSpec(name: "k", zoo: "z", forget: "0", target: "0")
        spec.objective = .standard
        spec.method = .kip
        (spec.imagesPerClass, spec.victimsPerIteration, spec.realBatchSize, spec.epochs) = (1, 2, 64, 10)
        spec.optimizer.learningRate = 0.05
        configure(&spec)
        let net = try LeNet(inputShape: [1, 28, 28], classes: 4)
        var rng = SeededGenerator(seed: 5)
        let victims = (0..<networks).map { _ in net.initialParameters(using: &rng) }
        let context = spec.craftingContext(classifier: net, data: try PreparedData.load(dataset: "synthetic"), victims: victims,
                                           forget: 0, target: 0, architecture: "lenet")
        return KernelInducingPoints(spec: spec, context: context)
    }

    @Test("the kernel regression loss has the right first and second derivatives in support features and labels")
    func lossGradients() {
        var rng = SeededGenerator(seed: 1)
        let targets = Tensor.randomNormal([5, 6], using: &rng)
        let wanted = Tensor.oneHot([0, 1, 2, 0, 1], classes: 3)
        let support = Tensor.randomNormal([3, 6], using: &rng), labels = Tensor.randomNormal([3, 3], using: &rng)
        let mismatches = GradientCheck().mismatches([support, labels]) {
            KernelRegression.loss(support: $0[0], targets: targets, labels: $0[1], wanted: wanted, regularization: 0.1)
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5).map(\.description).joined(separator: "; "))")
    }

    @Test("the kernel is the mean over networks of the features' inner products, divided by their count")
    func kernel() throws {
        let kip = try method()
        let x = kip.context.data.train.batch([0, 1, 2])
        let nets = Array(kip.context.victims.prefix(2))
        let phi = KernelRegression.features(kip.context.classifier, x, networks: nets)
        let k = matmul(phi, phi, transposeB: true).scalars
        let f = nets.map { kip.context.classifier.features(x, $0) }
        let d = f[0].shape[1]
        let direct = (0..<9).map { ij in
            f.map { feats in (0..<d).reduce(Float(0)) { $0 + feats.scalars[(ij / 3) * d + $1] * feats.scalars[(ij % 3) * d + $1] } }
                .reduce(0, +) / Float(2 * d)
        }
        #expect(zip(k, direct).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
    }

    @Test("label solve: the solved labels zero the loss's gradient in the labels and beat the one-hot labels")
    func labelSolve() {
        var rng = SeededGenerator(seed: 2)
        let support = Tensor.randomNormal([4, 8], using: &rng), targets = Tensor.randomNormal([12, 8], using: &rng)
        let wanted = Tensor.oneHot((0..<12).map { $0 % 3 }, classes: 3)
        let solved = KernelRegression.solvedLabels(support: support, targets: targets, wanted: wanted, regularization: 0.01)
        func loss(_ y: Tensor) -> Tensor {
            KernelRegression.loss(support: support, targets: targets, labels: y, wanted: wanted, regularization: 0.01)
        }
        let leaf = solved.requiringGradient()
        let gradient = gradients(of: loss(leaf), wrt: [leaf])[0]
        #expect(gradient.scalars.allSatisfy { abs($0) < 1e-4 }, "\(gradient.scalars)")
        #expect(loss(solved).item < loss(Tensor.oneHot([0, 1, 2, 0], classes: 3)).item)
    }

    @Test("KIP/LS from real images: one image per class then trains held-out initializations better than at its start and than other real images")
    func learns() throws {
        let kip = try method(networks: 6) { $0.iterations = 40; $0.initialImages = .real; $0.kip = KIPOptions(); $0.kip?.labelSolve = true }
        var state = kip.initialState()
        let start = kip.poisonSet(state)
        for _ in 0..<kip.iterations { kip.iterate(&state) }
        let (early, late): (Float, Float) = (state.losses.prefix(5).reduce(0, +), state.losses.suffix(5).reduce(0, +))
        #expect(late < early * 0.7, "\(state.losses)")
        let context = kip.context
        let control = RandomRealImages(context: context, perClass: 1, seed: 9).images()
        let controlStep = InnerStep(images: control.images, labels: control.labels, classes: 4)
        let controlSize = StepSizeFit(context: context, seed: 9).best(controlStep, epochs: 10)
        let heldout = Array(context.victims.suffix(2)), test = context.data.test
        func accuracy(_ step: InnerStep, _ size: Float) -> Double {
            let hits = heldout.map { start in
                let theta = unroll(context.classifier, from: start, steps: [step], stepSizes: [Tensor](repeating: Tensor(size), count: 10),
                                   epochs: 10, createGraph: false)
                return zip(context.classifier.predictions(test.batch(Array(0..<test.count)), theta), test.labels).filter { $0 == $1 }.count
            }
            return Double(hits.reduce(0, +)) / Double(heldout.count * test.count)
        }
        func accuracy(_ poison: PoisonSet) -> Double {
            let (images, targets) = poison.step(0, classes: 4)
            return accuracy(InnerStep(images: images, targets: targets), poison.stepSizes[0])
        }
        let (kipAccuracy, startAccuracy) = (accuracy(kip.poisonSet(state)), accuracy(start))
        let realAccuracy = accuracy(controlStep, controlSize)
        #expect(kipAccuracy > startAccuracy + 0.05, "KIP \(kipAccuracy), its starting images \(startAccuracy)")
        #expect(kipAccuracy > realAccuracy + 0.05, "KIP \(kipAccuracy), random real images \(realAccuracy)")
    }

    @Test("a checkpoint restores images, labels and Adam moments: resumed iterations repeat exactly")
    func resume() throws {
        let kip = try method { $0.learnLabels = true }
        var straight = kip.initialState()
        for _ in 0..<4 { kip.iterate(&straight) }
        var first = kip.initialState()
        for _ in 0..<2 { kip.iterate(&first) }
        var file = SafeTensors(metadata: ["iteration": "2"])
        try first.save(into: &file)
        var resumed = kip.initialState()
        try resumed.restore(from: file, source: "test")
        for _ in 0..<2 { kip.iterate(&resumed) }
        #expect(resumed.images.scalars == straight.images.scalars && resumed.labels.scalars == straight.labels.scalars)
        #expect(resumed.losses == straight.losses)
    }

    @Test("the kip section: decoded strictly, refused without method kip, label_solve excludes learn_labels, no unrolled-step options")
    func spec() throws {
        let base = "name: a\nzoo: z\nforget: 0\ntarget: 1\n"
        func problem(_ yaml: String) throws -> String? { try SpecFile.decode(AttackSpec.self, yaml: base + yaml, file: "a.yaml").problem }
        #expect(try problem("method: kip\nkip:\n  regularization: 0.1\n  label_solve: true\n") == nil)
        #expect(try problem("kip:\n  label_solve: true\n")?.contains("set method: kip") == true)
        #expect(try problem("method: kip\nlearn_labels: true\nkip:\n  label_solve: true\n")?.contains("not both") == true)
        #expect(try problem("method: kip\nkip:\n  regularization: 0\n")?.contains("kip.regularization") == true)
        #expect(try problem("method: kip\nsteps: 2\n")?.contains("steps") == true)
        #expect(throws: (any Error).self) { try problem("method: kip\nkip:\n  lambda: 1\n") }
    }
}
