import Autodiff
import Datasets
import Distillation
import Networks
import Poisoning
import Testing

@Suite("Adaptive crafting through defenses (issue 14)")
struct AdaptiveTests {
    func crafter(_ defenses: [DefenseSpec]) throws -> UnrolledSteps {
        try CraftingOptionTests().crafter { $0.defenses = defenses }
    }

    /// The norm over all parameters of `a − b`.
    func distance(_ a: [Tensor], _ b: [Tensor]) -> Float {
        zip(a, b).reduce(Float(0)) { t, p in t + zip(p.0.scalars, p.1.scalars).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
            .squareRoot()
    }

    /// What a defense's penalty sees, for crafter `c`.
    func scene(_ c: UnrolledSteps, _ start: [Tensor], _ steps: [InnerStep], _ real: Tensor, _ labels: [Int]) -> PenaltyScene {
        PenaltyScene(classifier: c.context.classifier, start: start, steps: steps, real: real, batchLabels: labels)
    }

    /// One victim, its poison step and a real batch, as `iterate` builds them.
    func setting(_ c: UnrolledSteps) -> (start: [Tensor], steps: [InnerStep], real: Tensor, labels: [Int]) {
        let state = c.initialState()
        let steps = [InnerStep(images: state.images[0], labels: c.stepLabels, classes: 4)]
        let picks = Array(0..<32)
        return (c.context.victims[0], steps, c.context.data.train.batch(picks), picks.map { c.context.data.train.labels[$0] })
    }

    @Test("the step cap and the trust region pass first- and second-order gradient checks")
    func gradientChecks() {
        var rng = SeededGenerator(seed: 21)
        let eta = Tensor(0.3)
        for cap: Float in [0.1, 0.5] {   // capped and not
            let m = GradientCheck().mismatches([eta]) { cappedStepSize($0[0] * $0[0], max: cap) * $0[0] }
            #expect(m.isEmpty, "cap \(cap): \(m.prefix(3).map(\.description))")
        }
        let start = [Tensor.randomNormal([3, 4], using: &rng), Tensor.randomNormal([5], using: &rng)]
        let moved = [Tensor.randomNormal([3, 4], using: &rng), Tensor.randomNormal([5], using: &rng)]
        let d = distance(moved, start)
        for radius in [d * 0.5, d * 2] {   // binding and not
            let m = GradientCheck().mismatches(moved) { theta in
                normCapped(theta, from: start, max: radius).enumerated().map { ($1 * $1 * Float($0 + 1)).sum() }.reduce(Tensor(0), +)
            }
            #expect(m.isEmpty, "radius \(radius): \(m.prefix(3).map(\.description))")
        }
        let capped = GradientMode.withoutRecording { normCapped(moved, from: start, max: d * 0.5) }
        #expect(abs(distance(capped, start) - d * 0.5) < 1e-4)
    }

    @Test("crafting through a defense that does nothing gives the plain crafting bit for bit")
    func noOpDefense() throws {
        let (plain, noOp) = (try crafter([]), try crafter([.stepCap(max: 1e6)]))
        var (a, b) = (plain.initialState(), noOp.initialState())
        for _ in 0..<2 { plain.iterate(&a); noOp.iterate(&b) }
        #expect(a.images[0].scalars == b.images[0].scalars && a.rho == b.rho && a.losses == b.losses)
    }

    @Test("inside crafting, DP-SGD's clipping bounds the step, the caps bound the step size and the update, dilution shrinks the pull")
    func bounds() throws {
        let (start, steps, real, labels) = setting(try crafter([]))
        let eta = [Tensor(0.5)]
        let plain = try crafter([]).defendedUnroll(start, steps: steps, stepSizes: eta, seed: 1, real: real, batchLabels: labels).theta
        let length = distance(plain, start)
        let clipped = try crafter([.dpSGD(clip: 0.01, noise: 0)])
            .defendedUnroll(start, steps: steps, stepSizes: eta, seed: 1, real: real, batchLabels: labels).theta
        #expect(distance(clipped, start) <= 0.5 * 0.01 * 1.001 && length > 0.5 * 0.01, "\(distance(clipped, start)) vs \(length)")
        let noisy = try crafter([.dpSGD(clip: 0.01, noise: 1)])
        let n1 = noisy.defendedUnroll(start, steps: steps, stepSizes: eta, seed: 1, real: real, batchLabels: labels).theta
        let n2 = noisy.defendedUnroll(start, steps: steps, stepSizes: eta, seed: 1, real: real, batchLabels: labels).theta
        let n3 = noisy.defendedUnroll(start, steps: steps, stepSizes: eta, seed: 2, real: real, batchLabels: labels).theta
        #expect(distance(n1, n2) == 0 && distance(n1, n3) > 0, "noise is drawn from the seed")
        let stepCapped = try crafter([.stepCap(max: 0.05)])
            .defendedUnroll(start, steps: steps, stepSizes: eta, seed: 1, real: real, batchLabels: labels).theta
        #expect(abs(distance(stepCapped, start) - length * 0.1) < 1e-3 * length)
        let trust = try crafter([.normCap(max: length / 4)])
            .defendedUnroll(start, steps: steps, stepSizes: eta, seed: 1, real: real, batchLabels: labels).theta
        #expect(abs(distance(trust, start) - length / 4) < 1e-3 * length)
        let small = try crafter([.dilution(clean: 8)])
            .defendedUnroll(start, steps: steps, stepSizes: eta, seed: 1, real: real, batchLabels: labels).theta
        let large = try crafter([.dilution(clean: 150)])
            .defendedUnroll(start, steps: steps, stepSizes: eta, seed: 1, real: real, batchLabels: labels).theta
        #expect(distance(small, plain) > 0 && distance(large, plain) > distance(small, plain))
    }

    @Test("the filter's penalty is the mean hinge of the poison's losses over the clean quantile; zero inside the clean range")
    func filterPenalty() throws {
        let c = try crafter([.filter(fraction: 0.2)])
        let (start, steps, real, labels) = setting(c)
        func losses(_ images: Tensor, _ labels: [Int]) -> [Float] {
            GradientMode.withoutRecording {
                (-(logSoftmax(c.context.classifier.logits(images, start)) * Tensor.oneHot(labels, classes: 4)).sum(alongAxes: [1])).scalars
            }
        }
        let clean = losses(real, labels).sorted()
        let q = clean[Int(Float(clean.count) * 0.8)]
        let expected = losses(steps[0].images, c.stepLabels).map { max(0, $0 - q) }.reduce(0, +) / Float(steps[0].images.shape[0])
        let penalty = FilterDefense(fraction: 0.2).penalty(scene(c, start, steps, real, labels))?.item ?? -1
        #expect(abs(penalty - expected) < 1e-5 * max(1, expected) && expected > 0, "\(penalty) vs \(expected)")
        // The clean images themselves never exceed their own largest loss (fraction 0).
        let cleanSteps = [InnerStep(images: real, labels: labels, classes: 4)]
        #expect(FilterDefense(fraction: 0).penalty(scene(c, start, cleanSteps, real, labels))?.item == 0)
        let (_, none) = try crafter([.stepCap(max: 1)]).defendedUnroll(start, steps: steps, stepSizes: [Tensor(0.1)], seed: 1,
                                                                        real: real, batchLabels: labels)
        #expect(none == nil, "no penalty without a filter")
        func weighted(_ weight: Float?) throws -> Float? {
            let c = try CraftingOptionTests().crafter { ($0.defenses, $0.detectionPenalty) = ([.filter(fraction: 0.2)], weight ?? 1) }
            return c.defendedUnroll(start, steps: steps, stepSizes: [Tensor(0.1)], seed: 1, real: real, batchLabels: labels).penalty?.item
        }
        let (one, two) = (try weighted(nil), try weighted(2))
        #expect(one.map { abs($0 - expected) < 1e-5 * max(1, expected) } == true && two.map { abs($0 - 2 * expected) < 1e-4 * max(1, expected) } == true)
        #expect(try weighted(0) == nil, "detection_penalty 0 keeps only the dropping")
        var spec = AttackSpec(name: "a", zoo: "z", forget: "0", target: "1")
        spec.detectionPenalty = -1
        #expect(spec.problem?.contains("detection_penalty must be zero or positive") == true)
    }

    @Test("with batch statistics (batch norm in train mode) the defended step is the victim's: its training forward, its running statistics")
    func trainingForward() throws {
        let net = CentredLeNet(base: try LeNet(inputShape: [1, 28, 28], classes: 4))
        var rng = SeededGenerator(seed: 5)
        let victims = (0..<2).map { _ in [Tensor(shape: [1], scalars: [0.3])] + net.base.initialParameters(using: &rng) }
        var spec = AttackSpec(name: "a", zoo: "z", forget: "0", target: "1")
        (spec.imagesPerClass, spec.victimsPerIteration, spec.realBatchSize) = (2, 2, 32)
        spec.defenses = [.stepCap(max: 1e6)]   // differentiable, and a no-op at this size
        let c = UnrolledSteps(spec: spec, context: spec.craftingContext(
            classifier: net, data: try PreparedData.load(dataset: "synthetic"), victims: victims,
            forget: 0, target: 1, architecture: "centred-lenet"))
        let (start, steps, real, labels) = setting(c)
        let eta = [Tensor(0.5)]
        let defended = c.defendedUnroll(start, steps: steps, stepSizes: eta, seed: 1, real: real, batchLabels: labels).theta
        let plain = unroll(net, from: start, steps: steps, stepSizes: eta, epochs: 1, createGraph: true)
        #expect(zip(defended, plain).allSatisfy { $0.scalars == $1.scalars })
        let batchMean = steps[0].images.mean().item
        #expect(abs(defended[0].item - (0.9 * 0.3 + 0.1 * batchMean)) < 1e-6, "the running mean moved by the poison batch")
    }

    @Test("a spec cannot craft through the gate; the message names the --defense form")
    func refused() {
        var spec = AttackSpec(name: "a", zoo: "z", forget: "0", target: "1")
        spec.defenses = [.gate(maxDrop: 0.02)]
        #expect(spec.problem?.contains("--defense gate:max_drop=0.02") == true, "\(spec.problem ?? "accepted")")
        spec.defenses = [.dilution(clean: 10), .filter(fraction: 0.1), .dpSGD(clip: 1, noise: 0.5), .stepCap(max: 0.1), .normCap(max: 1),
                         .spectral(clean: 10, fraction: 0.1), .clustering(clean: 10, maxShare: 0.3)]
        #expect(spec.problem == nil)
    }

    @Test("the feature-statistics penalty: zero for clean images under their labels, positive for the poison, gradient-checked to second order, scaled by detection_penalty")
    func featurePenalty() throws {
        let c = try crafter([.spectral(clean: 50, fraction: 0.1)])
        let (start, steps, real, labels) = setting(c)
        let cleanSteps = [InnerStep(images: real, labels: labels, classes: 4)]
        #expect(featureStatisticsPenalty(scene(c, start, cleanSteps, real, labels)).item < 1e-5)
        let poison = featureStatisticsPenalty(scene(c, start, steps, real, labels)).item
        #expect(poison > 0.1, "noise images are far from every class's features (\(poison))")
        // Four images, two per label, on a small MLP: every pixel checked to second order.
        let mlp = MLP(inputShape: [1, 3, 3], classes: 2, hidden: [5])
        var rng = SeededGenerator(seed: 8)
        let weights = mlp.initialParameters(using: &rng)
        var spec = AttackSpec(name: "a", zoo: "z", forget: "0", target: "1")
        spec.defenses = [.clustering(clean: 10, maxShare: 0.3)]
        let data = try PreparedData.load(dataset: "synthetic")
        let small = UnrolledSteps(spec: spec, context: spec.craftingContext(classifier: mlp, data: data, victims: [weights],
                                                                           forget: 0, target: 1, architecture: "mlp"))
        let clean = Tensor.randomNormal([6, 1, 3, 3], using: &rng)
        let images = Tensor.randomNormal([4, 1, 3, 3], using: &rng)
        let m = GradientCheck().mismatches([images]) { x in
            featureStatisticsPenalty(PenaltyScene(classifier: small.context.classifier, start: weights,
                                                  steps: [InnerStep(images: x[0], labels: [0, 0, 1, 1], classes: 2)],
                                                  real: clean, batchLabels: [0, 1, 0, 1, 0, 1]))
        }
        #expect(m.isEmpty, "\(m.prefix(3).map(\.description))")
        // The crafter adds it to the outer loss with the detection_penalty weight.
        let etas = [Tensor(0.1)]
        let one = c.defendedUnroll(start, steps: steps, stepSizes: etas, seed: 1, real: real, batchLabels: labels).penalty?.item
        let twice = try CraftingOptionTests().crafter { ($0.defenses, $0.detectionPenalty) = ([.spectral(clean: 50, fraction: 0.1)], 2) }
            .defendedUnroll(start, steps: steps, stepSizes: etas, seed: 1, real: real, batchLabels: labels).penalty?.item
        #expect(one.map { abs($0 - poison) < 1e-4 * max(1, poison) } == true)
        #expect(twice.map { abs($0 - 2 * poison) < 2e-4 * max(1, poison) } == true)
    }
}

/// LeNet behind an input layer with batch statistics, like batch norm: a training forward
/// centres the batch on its own mean and moves the running mean (the first parameter) by
/// PyTorch's momentum 0.1; evaluation centres on the running mean.
struct CentredLeNet: Classifier {
    let base: LeNet
    var name: String { "centred-lenet" }
    var inputShape: [Int] { base.inputShape }
    var classes: Int { base.classes }
    var parameterSpecs: [ParameterSpec] { [ParameterSpec("running_mean", [1])] + base.parameterSpecs }

    func features(_ x: Tensor, _ p: [Tensor]) -> Tensor { base.features(x - p[0], Array(p.dropFirst())) }
    func logits(_ x: Tensor, _ p: [Tensor]) -> Tensor { base.logits(x - p[0], Array(p.dropFirst())) }

    func trainingForward(_ x: Tensor, _ p: [Tensor]) -> (logits: Tensor, parameters: [Tensor]) {
        let mean = x.mean()
        let running = Tensor(shape: [1], scalars: [0.9 * p[0].item + 0.1 * mean.item])
        return (base.logits(x - mean, Array(p.dropFirst())), [running] + p.dropFirst())
    }
}
