import Autodiff
import Datasets
import Distillation
import Networks
import Specs
import Testing

/// Random values in [−1, 1), deterministic for `seed`.
private func uniformTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1..<1, using: &rng) })
}

@Suite("Matching methods: losses and augmentation (issue 17)")
struct MatchingPieceTests {
    @Test("the layer-wise gradient distance is Σ over output units of 1 − cos, ignores biases, and passes first- and second-order checks")
    func gradientDistance() {
        let a = [Tensor(shape: [2, 2], scalars: [1, 0, 0, 2]), Tensor(shape: [2], scalars: [1, 1])]
        let b = [Tensor(shape: [2, 2], scalars: [3, 0, 0, -1]), Tensor(shape: [2], scalars: [-1, 5])]
        // Row 0 parallel (1 − 1), row 1 opposite (1 + 1); the bias pair is left out.
        #expect(abs(GradientMatching.distance(a, b).item - 2) < 1e-4)
        let inputs = [uniformTensor([3, 4], seed: 1), uniformTensor([2, 1, 2, 2], seed: 2), uniformTensor([3], seed: 3),
                      uniformTensor([3, 4], seed: 4), uniformTensor([2, 1, 2, 2], seed: 5), uniformTensor([3], seed: 6)]
        let mismatches = GradientCheck().mismatches(inputs) { x in GradientMatching.distance(Array(x[0..<3]), Array(x[3..<6])) }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
        let cosine = GradientCheck().mismatches(inputs) { x in GradientMatching.cosine(Array(x[0..<3]), Array(x[3..<6])) }
        #expect(cosine.isEmpty, "\(cosine.prefix(3))")
        #expect(abs(GradientMatching.cosine(a, a).item - 1) < 1e-5)
    }

    @Test("gradient matching's loss, a function of the synthetic images through a network gradient, passes first- and second-order checks")
    func gradientMatchingLoss() {
        let net = MLP(inputShape: [1, 2, 2], classes: 3, hidden: [5])
        var rng = SeededGenerator(seed: 4)
        let theta = net.initialParameters(using: &rng)
        let real = uniformTensor([6, 1, 2, 2], seed: 7)
        func gradient(_ x: Tensor, createGraph: Bool) -> [Tensor] {
            let leaves = theta.map { $0.requiringGradient() }
            return gradients(of: crossEntropy(net.logits(x, leaves), labels: [Int](repeating: 1, count: x.shape[0])), wrt: leaves,
                             createGraph: createGraph)
        }
        let target = gradient(real, createGraph: false)
        let mismatches = GradientCheck().mismatches([uniformTensor([2, 1, 2, 2], seed: 8)]) { x in
            GradientMatching.distance(gradient(x[0], createGraph: true), target)
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
    }

    @Test("distribution matching's loss is the squared distance of mean embeddings and passes first- and second-order checks")
    func distributionMatchingLoss() {
        #expect(DistributionMatching.distance(Tensor(shape: [2], scalars: [1, 2]), Tensor(shape: [2], scalars: [4, -2])).item == 25)
        let net = MLP(inputShape: [1, 2, 2], classes: 3, hidden: [5])
        var rng = SeededGenerator(seed: 5)
        let theta = net.initialParameters(using: &rng)
        let target = net.features(uniformTensor([6, 1, 2, 2], seed: 9), theta).mean(alongAxes: [0])
        let mismatches = GradientCheck().mismatches([uniformTensor([3, 1, 2, 2], seed: 10)]) { x in
            DistributionMatching.distance(net.features(x[0], theta).mean(alongAxes: [0]), target)
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
    }

    @Test("siamese augmentation: identity, mirror, shift and quarter turn re-index pixels as expected; one draw per seed; checked to second order")
    func augmentation() {
        let x = Tensor(shape: [1, 1, 3, 3], scalars: (1...9).map(Float.init))
        #expect(SiameseAugmentation().apply(x).scalars == x.scalars)
        var mirror = SiameseAugmentation()
        mirror.flip = true
        #expect(mirror.apply(x).scalars == [3, 2, 1, 6, 5, 4, 9, 8, 7])
        var down = SiameseAugmentation()
        down.shift = (1, 0)
        #expect(down.apply(x).scalars == [1, 2, 3, 1, 2, 3, 4, 5, 6], "borders replicated")
        var turn = SiameseAugmentation()
        turn.angle = Double.pi / 2
        #expect(turn.apply(x).scalars == [3, 6, 9, 2, 5, 8, 1, 4, 7])
        var shrink = SiameseAugmentation()
        shrink.scale = (2, 2)
        #expect(shrink.apply(x).scalars[4] == 5, "the centre stays")
        var (r1, r2) = (SeededGenerator(seed: 3), SeededGenerator(seed: 3))
        let (a, b) = (SiameseAugmentation(drawnFor: (28, 28), using: &r1), SiameseAugmentation(drawnFor: (28, 28), using: &r2))
        #expect(a == b, "the same seed gives the real and the synthetic batch the same transform")
        var rng = SeededGenerator(seed: 4)
        let draws = (0..<200).map { _ in SiameseAugmentation(drawnFor: (28, 28), using: &rng) }
        #expect(draws.allSatisfy { abs($0.shift.dy) <= 3.5 && abs($0.angle) <= Double.pi / 12 && $0.scale.sx >= 1 / 1.2 && $0.scale.sx <= 1.2 })
        #expect(draws.contains { $0.flip } && draws.contains { !$0.flip } && Set(draws.map(\.angle)).count == 200)
        let batch = uniformTensor([2, 2, 5, 5], seed: 11)
        #expect(a.apply(batch).scalars != batch.scalars)
        let mismatches = GradientCheck().mismatches([batch]) { v in a.apply(v[0]) * a.apply(v[0]) }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
    }
}

@Suite("Matching methods: spec sections (issue 17)")
struct MatchingSpecTests {
    let base = "name: a\nzoo: z\nforget: 0\ntarget: 1\n"

    @Test("the sections decode strictly with defaults; a section for another method or an option the method cannot take is refused")
    func sections() throws {
        let spec = try SpecFile.decode(AttackSpec.self, yaml: base + """
            method: gradient-matching
            objective: standard
            gradient_matching: {outer_loops: 3, network_steps: 2, network_learning_rate: 0.1, real_per_class: 32, dsa: true}
            """, file: "a.yaml")
        #expect(spec.method == .gradientMatching && spec.gradientMatching?.outerLoops == 3 && spec.gradientMatching?.dsa == true)
        #expect(spec.problem == nil)
        let dm = try SpecFile.decode(AttackSpec.self, yaml: base + "method: distribution-matching\ndistribution_matching: {dsa: true}\n",
                                     file: "a.yaml")
        #expect(dm.distributionMatching?.realPerClass == 256 && dm.distributionMatching?.dsa == true && dm.problem == nil)
        do {
            _ = try SpecFile.decode(AttackSpec.self, yaml: base + "gradient_matching: {outer_loop: 3}\n", file: "a.yaml")
            Issue.record("accepted an unknown key")
        } catch { #expect("\(error)".contains("unknown key 'outer_loop'")) }
        let refused: [(String, (inout AttackSpec) -> Void)] = [
            ("configures method gradient-matching", { $0.method = .unrolledSteps }),
            ("steps: 1", { $0.steps = 2 }),
            ("learn_labels is not available", { $0.learnLabels = true }),
            ("does not take them", { $0.robustness.retainKL = 1 }),
            ("gradient_matching.outer_loops", { $0.gradientMatching?.outerLoops = 0 }),
            ("gradient_matching.network_learning_rate", { $0.gradientMatching?.networkLearningRate = -1 }),
            ("gradient_matching.real_per_class", { $0.gradientMatching?.realPerClass = 0 }),
            ("does not take it", { $0.objective = .forget }),
        ]
        for (message, change) in refused {
            var s = spec
            change(&s)
            #expect(s.problem?.contains(message) == true, "\(message): \(s.problem ?? "accepted")")
        }
        var wrong = dm
        wrong.method = .gradientMatching
        #expect(wrong.problem?.contains("distribution_matching: configures method distribution-matching") == true)
    }
}
