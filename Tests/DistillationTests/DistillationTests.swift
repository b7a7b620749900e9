import Autodiff
import Datasets
import Distillation
import Foundation
import Networks
import Specs
import Testing
import Victims

@Suite("Attack specs")
struct AttackSpecTests {
    let classNames = ["T-shirt/top", "Trouser", "Pullover"]

    @Test("classes by index or name; K = T and unknown names are refused with the choices")
    func classes() throws {
        let spec = try SpecFile.decode(AttackSpec.self, yaml: "name: a\nzoo: z\nforget: t-shirt/top\ntarget: 2\n", file: "a.yaml")
        #expect(try spec.classes(classNames) == (0, 2))
        #expect(spec.iterations == 1000 && spec.knowledge == .distribution && spec.optimizer.beta1 == 0.5)
        var same = spec
        same.target = "T-shirt/top"
        #expect(throws: SpecError.self) { try same.classes(classNames) }
        var unknown = spec
        unknown.forget = "Sneaker"
        do { _ = try unknown.classes(classNames) } catch { #expect(error.description.contains("0 T-shirt/top, 1 Trouser, 2 Pullover")) }
    }

    @Test("method, objective and knowledge are chosen from a list; a misspelling names the list")
    func choices() throws {
        let base = "name: a\nzoo: z\nforget: 0\ntarget: 1\n"
        let spec = try SpecFile.decode(AttackSpec.self, yaml: base + "method: unrolled-steps\nobjective: standard\n", file: "a.yaml")
        #expect(spec.method == .unrolledSteps && spec.objective == .standard)
        for (key, value, allowed) in [("objective", "forgot", "forget, standard"), ("method", "mtt", "unrolled-steps"),
                                      ("knowledge", "white-box", "fixed, distribution")] {
            do {
                _ = try SpecFile.decode(AttackSpec.self, yaml: base + "\(key): \(value)\n", file: "a.yaml")
                Issue.record("\(key): \(value) accepted")
            } catch {
                #expect("\(error)".contains("'\(value)' is not one of: \(allowed)") && "\(error)".contains("'\(key)'"), "\(error)")
            }
        }
        var standard = spec
        standard.forgetShare = 0.2
        #expect(standard.problem?.contains("forget_share and retain_weight shape the forget objective") == true)
    }

    @Test("unknown keys, nested too, are errors naming the key and file")
    func unknownKeys() {
        do {
            _ = try SpecFile.decode(AttackSpec.self, yaml: "name: a\nzoo: z\nforget: 0\ntarget: 1\noptimizer:\n  lr: 0.1\n", file: "a.yaml")
            Issue.record("accepted an unknown key")
        } catch {
            #expect("\(error)".contains("a.yaml") && "\(error)".contains("unknown key 'lr'") && "\(error)".contains("optimizer.lr"))
        }
    }

    @Test("the shipped attack specs load")
    func shipped() throws {
        let attacks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("attacks")
        for name in ["fashion-tshirt-to-trouser", "fashion-tshirt-to-shirt", "fashion-tshirt-to-trouser-published",
                     "fashion-tshirt-to-trouser-strong"] {
            let spec = try AttackSpec.load(attacks.appendingPathComponent("\(name).yaml"))
            #expect(spec.imagesPerClass == 10 && spec.steps == 1 && spec.knowledge == .distribution)
            let published = name.hasSuffix("published")
            #expect(spec.learnLabels != published && (spec.forgetShare == nil) == published,
                    "only the published baseline leaves out learned labels and the class-K share")
        }
    }
}

@Suite("Crafting building blocks")
struct CraftingTests {
    @Test("unroll without a graph is plain gradient descent on the synthetic data")
    func unrollIsSGD() throws {
        let net = MLP(inputShape: [1, 2, 2], classes: 3, hidden: [4])
        var rng = SeededGenerator(seed: 1)
        let theta = net.initialParameters(using: &rng)
        let x = Tensor.randomNormal([5, 1, 2, 2], using: &rng)
        let labels = [0, 1, 2, 1, 0]
        let stepped = unroll(net, from: theta, steps: [InnerStep(images: x, labels: labels, classes: 3)],
                             stepSizes: [Tensor(0.3)], epochs: 1, createGraph: false)
        let leaves = theta.map { $0.requiringGradient() }
        let grads = gradients(of: crossEntropy(net.logits(x, leaves), labels: labels), wrt: leaves)
        for (after, (before, g)) in zip(stepped, zip(theta, grads)) {
            #expect(!after.requiresGradient)
            #expect(zip(after.scalars, zip(before.scalars, g.scalars)).allSatisfy { abs($0 - ($1.0 - 0.3 * $1.1)) < 1e-6 })
        }
    }

    @Test("victim weights: equal by default, focused on the worst loss with a small temperature")
    func victimWeights() {
        #expect(UnrolledSteps.victimWeights([1, 2, 3, 4], temperature: nil) == [0.25, 0.25, 0.25, 0.25])
        let focused = UnrolledSteps.victimWeights([0.1, 0.5, 2.0], temperature: 0.1)
        #expect(abs(focused.reduce(0, +) - 1) < 1e-6)
        #expect(focused[2] > 0.99)
        let soft = UnrolledSteps.victimWeights([0.1, 0.5, 2.0], temperature: 100)
        #expect(soft.allSatisfy { abs($0 - 1 / 3) < 0.01 })
    }

    @Test("victim_noise perturbs each tensor by that fraction of its spread, reproducibly; bad values are refused")
    func victimNoise() {
        var rng = SeededGenerator(seed: 5)
        let weights = [Tensor.randomNormal([1000], std: 2, using: &rng), Tensor.randomNormal([500], std: 0.1, using: &rng)]
        let noisy = UnrolledSteps.perturbed(weights, by: 0.1, seed: 9)
        for (w, n) in zip(weights, noisy) {
            let diffs = zip(w.scalars, n.scalars).map { $1 - $0 }
            let spread = (diffs.map { $0 * $0 }.reduce(0, +) / Float(diffs.count)).squareRoot()
            let std = (w.scalars.map { $0 * $0 }.reduce(0, +) / Float(w.count)).squareRoot()
            #expect(abs(spread / std - 0.1) < 0.015, "noise \(spread) for a tensor of spread \(std)")
        }
        #expect(UnrolledSteps.perturbed(weights, by: 0.1, seed: 9)[0].scalars == noisy[0].scalars)
        var spec = AttackSpec(name: "a", zoo: "z", forget: "0", target: "1")
        spec.victimNoise = -1
        #expect(spec.problem?.contains("victim_noise") == true)
    }

    @Test("retain_weight scales the outer targets of every example outside class K; 1 leaves them one-hot")
    func retainWeight() throws {
        let data = try PreparedData.load(dataset: "synthetic")
        var spec = AttackSpec(name: "a", zoo: "z", forget: "0", target: "1")
        spec.retainWeight = 3
        let batch = [0, 60, 120]  // classes 0, 1, 2 (48 training images per class)
        #expect(batch.map { data.train.labels[$0] } == [0, 1, 2])
        let weighted = spec.makeObjective(forget: 0, target: 1, train: data.train).outerTargets(batch)
        #expect(weighted.scalars == [0, 1, 0, 0, /**/ 0, 3, 0, 0, /**/ 0, 0, 3, 0])
        spec.retainWeight = 1
        let plain = spec.makeObjective(forget: 0, target: 1, train: data.train).outerTargets(batch)
        #expect(plain.scalars == Tensor.oneHot([1, 1, 2], classes: 4).scalars)
        spec.retainWeight = -1
        #expect(spec.problem?.contains("retain_weight") == true)
    }

    @Test("the learned step size is softplus of ρ, and the initial ρ gives the initial step size")
    func stepSizes() throws {
        var spec = AttackSpec(name: "a", zoo: "z", forget: "0", target: "1")
        spec.initialStepSize = 0.02
        let data = try PreparedData.load(dataset: "synthetic")
        let crafter = try unrolledSteps(spec, data: data, victims: [])
        let state = crafter.initialState()
        #expect(abs(UnrolledSteps.stepSizes(state.rho)[0] - 0.02) < 1e-6)
        #expect(state.images[0].shape == [40, 1, 28, 28])
        #expect(crafter.stepLabels == [Int](repeating: 0, count: 10) + [Int](repeating: 1, count: 10)
                + [Int](repeating: 2, count: 10) + [Int](repeating: 3, count: 10))
        #expect(crafter.context.objective.wantedLabel(0) == 1 && crafter.context.objective.wantedLabel(2) == 2)
    }
}

@Suite("Poison set files")
struct PoisonSetTests {
    func sample() -> PoisonSet {
        var rng = SeededGenerator(seed: 4)
        return PoisonSet(images: .randomNormal([4, 1, 2, 2], using: &rng), labels: [0, 1, 0, 1], stepSizes: [0.1, 0.2],
                         steps: 2, epochs: 1,
                         metadata: .init(dataset: "synthetic", classNames: ["a", "b"], mean: [0.5], std: [0.2],
                                         forget: 0, target: 1, architecture: "lenet", seed: 4, objective: "forget"))
    }

    @Test("writes and reads back every field; steps split the images in order")
    func roundTrip() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("poison-\(UUID().uuidString).safetensors")
        try sample().write(to: url)
        let back = try PoisonSet(contentsOf: url)
        #expect(back.images.scalars == sample().images.scalars && back.labels == [0, 1, 0, 1])
        #expect(back.stepSizes == [0.1, 0.2] && back.steps == 2 && back.metadata == sample().metadata)
        let second = back.step(1, classes: 2)
        #expect(second.images.scalars == Array(sample().images.scalars[8...]))
        #expect(second.targets.scalars == [1, 0, 0, 1])
        #expect(try back.grid().width > 0)
    }

    @Test("inconsistent files are refused with what is wrong")
    func refused() throws {
        var file = try sample().file()
        file.metadata["steps"] = "3"
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).safetensors")
        try file.write(to: url)
        do { _ = try PoisonSet(contentsOf: url); Issue.record("accepted") } catch { #expect("\(error)".contains("divide the 4 images")) }
        file.metadata["steps"] = "2"
        file.metadata["mean"] = "[0.1, 0.2]"
        try file.write(to: url)
        do { _ = try PoisonSet(contentsOf: url); Issue.record("accepted") } catch { #expect("\(error)".contains("give one per channel")) }
    }
}

@Suite("Crafting options on a tiny problem")
struct CraftingOptionTests {
    /// A crafter on the synthetic 4-class data with two random LeNet victims.
    func crafter(_ configure: (inout AttackSpec) -> Void) throws -> UnrolledSteps {
        var spec = AttackSpec(name: "a", zoo: "z", forget: "0", target: "1")
        (spec.imagesPerClass, spec.victimsPerIteration, spec.realBatchSize) = (2, 2, 32)
        spec.optimizer.learningRate = 0.5
        configure(&spec)
        let data = try PreparedData.load(dataset: "synthetic")
        let net = try LeNet(inputShape: [1, 28, 28], classes: 4)
        var rng = SeededGenerator(seed: 3)
        let victims = (0..<2).map { _ in net.initialParameters(using: &rng) }
        return try unrolledSteps(spec, data: data, victims: victims)
    }

    @Test("clip_pixels keeps every synthetic pixel in the image range, from the start and after updates")
    func clipPixels() throws {
        let crafter = try crafter { $0.clipPixels = true }
        let (mean, std) = (crafter.context.data.normalization.mean[0], crafter.context.data.normalization.std[0])
        let (low, high) = (-mean / std, (1 - mean) / std)
        var state = crafter.initialState()
        for _ in 0..<3 { crafter.iterate(&state) }
        let pixels = state.images[0].scalars
        #expect(pixels.allSatisfy { $0 >= low && $0 <= high })
        #expect(pixels.contains(low) && pixels.contains(high), "a large learning rate pushes some pixels to both bounds")
        let unclipped = try self.crafter { _ in }
        var free = unclipped.initialState()
        unclipped.iterate(&free)
        #expect(free.images[0].scalars.contains { $0 < low || $0 > high }, "without the option, pixels leave the range")
    }
}

/// The unrolled-step method on the synthetic 4-class data with LeNet, forgetting class 0 as 1.
func unrolledSteps(_ spec: AttackSpec, data: PreparedData, victims: [[Tensor]]) throws -> UnrolledSteps {
    UnrolledSteps(spec: spec, context: spec.craftingContext(
        classifier: try LeNet(inputShape: [1, 28, 28], classes: 4), data: data, victims: victims,
        forget: 0, target: 1, architecture: "lenet"))
}
