import Autodiff
import Datasets
import Distillation
import Foundation
import Networks
import Poisoning
import Specs
import TestSupport
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
        for (key, value, allowed) in [("objective", "forgot", "forget, standard"), ("method", "mtt", "unrolled-steps, kip, gradient-matching, distribution-matching, ncfm, trajectory-matching, expert-trajectories"),
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

    @Test("the image grid puts one label per row: blocks of 10, a relabelled block joining its target's, shuffled labels")
    func gridRows() {
        let blocks = (0..<10).flatMap { [Int](repeating: $0, count: 10) }
        #expect(PoisonSet.gridColumns(blocks) == 10)
        #expect(PoisonSet.gridColumns(blocks.map { $0 == 0 ? 1 : $0 }) == 10, "block K labelled T: a run of 20")
        #expect(PoisonSet.gridColumns(blocks + blocks) == 10, "two steps")
        #expect(PoisonSet.gridColumns([0, 0, 0, 1, 1, 1, 1, 1, 1]) == 3)
        #expect(PoisonSet.gridColumns([0, 1, 0, 1]) == 1)
        #expect(PoisonSet.gridColumns([]) == 1)
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

    @Test("initial_images: real starts every block from distinct training images of its own class, per step; relabelled labels block K as T")
    func realInitialImages() throws {
        let realStart = try crafter { $0.initialImages = .real; $0.steps = 2 }
        let train = realStart.context.data.train
        let state = realStart.initialState()
        let size = train.imageSize
        let trainImages = (0..<train.count).map { Array(train.pixels[($0 * size)..<(($0 + 1) * size)]) }
        for step in state.images {
            let pixels = step.scalars
            let picks = (0..<realStart.imagesPerStep).map { i in
                trainImages.firstIndex(of: Array(pixels[(i * size)..<((i + 1) * size)]))
            }
            #expect(picks.allSatisfy { $0 != nil }, "every starting image is a training image")
            #expect(picks.compactMap { $0 }.map { train.labels[$0] } == realStart.stepLabels, "of its block's class")
            #expect(Set(picks.compactMap { $0 }).count == picks.count, "no image twice")
        }
        #expect(state.images[0].scalars != state.images[1].scalars, "each step draws its own images")
        #expect(try crafter { _ in }.initialState().images[0].scalars != state.images[0].scalars, "noise is the default")

        let relabelled = try crafter { $0.initialImages = .relabelled; $0.steps = 2 }
        #expect(relabelled.initialState().images.map(\.scalars) == state.images.map(\.scalars), "the same real images")
        let perClass = relabelled.spec.imagesPerClass
        let blockLabels = stride(from: 0, to: relabelled.imagesPerStep, by: perClass).map { relabelled.stepLabels[$0] }
        #expect(blockLabels == [1, 1, 2, 3], "block K (0) is labelled T (1), the others keep their class")
        #expect(relabelled.poisonSet(relabelled.initialState()).labels.prefix(perClass).allSatisfy { $0 == 1 })
    }
}

/// The unrolled-step method on the synthetic 4-class data with LeNet, forgetting class 0 as 1.
func unrolledSteps(_ spec: AttackSpec, data: PreparedData, victims: [[Tensor]]) throws -> UnrolledSteps {
    UnrolledSteps(spec: spec, context: spec.craftingContext(
        classifier: try LeNet(inputShape: [1, 28, 28], classes: 4), data: data, victims: victims,
        forget: 0, target: 1, architecture: "lenet"))
}

extension UnrolledSteps.State {
    init(_ best: BestPoison, from state: UnrolledSteps.State) {
        self = state
        (images, rho, labelLogits) = (best.images, best.rho, best.labelLogits)
    }
}

@Suite("Robustness options (issue 13)")
struct RobustnessTests {
    func crafter(_ configure: (inout AttackSpec) -> Void) throws -> UnrolledSteps {
        try CraftingOptionTests().crafter(configure)
    }

    @Test("the robustness section decodes strictly; bad values are refused naming the key")
    func decoding() throws {
        let yaml = """
            name: a
            zoo: z
            forget: 0
            target: 1
            robustness:
              step_scale: [0.5, 2]
              weight_augmentation: 0.05
              sharpness_radius: 0.01
              outer_loss: margin
              margin: 1
              victim_cvar: 0.5
              retain_kl: 0.5
              augment: {shift: 2, flip: true}
            """
        let spec = try SpecFile.decode(AttackSpec.self, yaml: yaml, file: "a.yaml")
        #expect(spec.robustness.stepScale == [0.5, 2] && spec.robustness.outerLoss == .margin && spec.robustness.augment == Augment(shift: 2, flip: true))
        #expect(spec.problem == nil)
        do {
            _ = try SpecFile.decode(AttackSpec.self, yaml: "name: a\nzoo: z\nforget: 0\ntarget: 1\nrobustness:\n  step_scales: [1, 2]\n", file: "a.yaml")
            Issue.record("accepted an unknown key")
        } catch { #expect("\(error)".contains("unknown key 'step_scales'")) }
        do {
            _ = try SpecFile.decode(AttackSpec.self, yaml: "name: a\nzoo: z\nforget: 0\ntarget: 1\nrobustness:\n  outer_loss: hinge\n", file: "a.yaml")
            Issue.record("accepted outer_loss: hinge")
        } catch { #expect("\(error)".contains("'hinge' is not one of: cross_entropy, margin"), "\(error)") }
        let bad: [(inout Robustness) -> Void] = [
            { $0.stepScale = [2, 1] }, { $0.weightAugmentation = -1 }, { $0.sharpnessRadius = -1 },
            { $0.victimCVaR = 0 }, { $0.retainKL = -1 }, { $0.augment = Augment(shift: -1) }, { $0.margin = -1 },
            { $0.collateralBudget = -0.1 }, { $0.collateralWeight = .infinity },
        ]
        let keys = ["step_scale", "weight_augmentation", "sharpness_radius", "victim_cvar", "retain_kl", "augment.shift", "margin",
                    "collateral_budget", "collateral_weight"]
        for (change, key) in zip(bad, keys) {
            var s = spec
            change(&s.robustness)
            #expect(s.problem?.contains("robustness." + key) == true, "\(key): \(s.problem ?? "accepted")")
        }
    }

    @Test("translation offsets shift with replicated borders and mirror; remapped images follow them")
    func augmentation() {
        let x = Tensor(shape: [1, 1, 2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let right = remapped(x, sourceOffsets: translationOffsets(shape: x.shape, dy: [0], dx: [1], flip: [false]), shape: x.shape)
        #expect(right.scalars == [1, 1, 2, 4, 4, 5])
        let down = remapped(x, sourceOffsets: translationOffsets(shape: x.shape, dy: [1], dx: [0], flip: [true]), shape: x.shape)
        #expect(down.scalars == [3, 2, 1, 3, 2, 1])
        let same = Augment(shift: 0, flip: false).apply(x, seed: 3)
        #expect(same.scalars == x.scalars)
        let moved = Augment(shift: 1, flip: true).apply(Tensor(shape: [8, 1, 2, 3], scalars: (0..<48).map(Float.init)), seed: 3)
        #expect(moved.shape == [8, 1, 2, 3] && moved.scalars != (0..<48).map(Float.init))
    }

    @Test("CVaR weights the worst share of victims equally; the margin loss is a hinge on the smooth margin")
    func weightsAndMargin() {
        #expect(UnrolledSteps.cvarWeights([0.1, 0.9, 0.5, 0.2], share: 0.5) == [0, 0.5, 0.5, 0])
        #expect(UnrolledSteps.cvarWeights([0.1, 0.9], share: 0.01) == [0, 1])
        // Row 0: target 1 wins by log(10) − log(e⁰) over a single other class → margin 2.3 > 1: no loss.
        // Row 1: target 0, logits equal → margin = −log(1) = 0 → loss κ = 1, weighted 2.
        let logits = Tensor(shape: [2, 2], scalars: [0, Foundation.log(10), 0, 0])
        let wanted = Tensor(shape: [2, 2], scalars: [0, 1, 2, 0])
        let loss = UnrolledSteps.marginLoss(logits, wanted: wanted, margin: 1).item
        #expect(abs(loss - 1) < 1e-5, "(0 + 2·1) / 2 rows, got \(loss)")
    }

    @Test("weight augmentation moves each output unit by the fraction of its norm, reproducibly")
    func unitScaled() {
        var rng = SeededGenerator(seed: 2)
        let w = [Tensor.randomNormal([4, 50], std: 3, using: &rng), Tensor.randomNormal([4], using: &rng)]
        let moved = UnrolledSteps.unitScaledPerturbation(w, by: 0.1, seed: 7)
        for r in 0..<4 {
            let row = w[0].scalars[(r * 50)..<((r + 1) * 50)], after = moved[0].scalars[(r * 50)..<((r + 1) * 50)]
            let delta = zip(row, after).map { ($1 - $0) * ($1 - $0) }.reduce(0, +).squareRoot()
            let norm = row.map { $0 * $0 }.reduce(0, +).squareRoot()
            #expect(abs(delta / norm - 0.1) < 1e-3)
        }
        #expect(UnrolledSteps.unitScaledPerturbation(w, by: 0.1, seed: 7)[1].scalars == moved[1].scalars)
    }

    @Test("step_scale draws factors log-uniformly inside its range; a fixed range is that factor")
    func stepScale() throws {
        let c = try crafter { $0.robustness.stepScale = [0.5, 2] }
        let factors = (0..<200).map { c.stepScaleFactor(seed: UInt64($0)) }
        #expect(factors.allSatisfy { $0 >= 0.5 && $0 <= 2 })
        #expect(factors.filter { $0 < 1 }.count > 70 && factors.filter { $0 > 1 }.count > 70, "log-uniform: about half below 1")
        let fixed = try crafter { $0.robustness.stepScale = [3, 3] }
        #expect(fixed.stepScaleFactor(seed: 1) == 3)
        #expect(try crafter { _ in }.stepScaleFactor(seed: 1) == 1)
    }

    @Test("every option crafts finite, changed images on the tiny problem, and differs from the plain run")
    func everyOptionIterates() throws {
        let plain = try crafter { _ in }
        var base = plain.initialState()
        for _ in 0..<2 { plain.iterate(&base) }
        let options: [(String, (inout AttackSpec) -> Void)] = [
            ("step_scale", { $0.robustness.stepScale = [0.5, 2] }),
            ("weight_augmentation", { $0.robustness.weightAugmentation = 0.1 }),
            ("sharpness_radius", { $0.robustness.sharpnessRadius = 0.05 }),
            ("margin", { $0.robustness.outerLoss = .margin }),
            ("victim_cvar", { $0.robustness.victimCVaR = 0.5 }),
            ("retain_kl", { $0.robustness.retainKL = 1 }),
            ("collateral_budget", { $0.robustness.collateralBudget = 0 }),
            ("augment", { $0.robustness.augment = Augment(shift: 2, flip: true) }),
        ]
        for (name, configure) in options {
            let c = try crafter(configure)
            var state = c.initialState()
            for _ in 0..<2 { c.iterate(&state) }
            #expect(state.losses.allSatisfy(\.isFinite) && state.images[0].scalars.allSatisfy(\.isFinite), "\(name)")
            #expect(state.images[0].scalars != base.images[0].scalars, "\(name) changes the crafted images")
            var again = c.initialState()
            for _ in 0..<2 { c.iterate(&again) }
            #expect(again.images[0].scalars == state.images[0].scalars, "\(name) is reproducible")
        }
    }

    @Test("validation_victims holds the last victims out of sampling and keeps the best-scoring poison")
    func validationSplit() throws {
        let c = try crafter {
            $0.robustness.validationVictims = 1
            $0.robustness.validateEvery = 1
            $0.iterations = 3
            $0.learnLabels = true
        }
        #expect(c.samplingPool == [0] && c.validationPool == [1])
        var state = c.initialState()
        for _ in 0..<3 { c.iterate(&state) }
        let best = try #require(state.best)
        #expect((1...3).contains(best.iteration) && best.score.isFinite)
        #expect(abs(c.validationScore(UnrolledSteps.State(best, from: state)) - best.score) < 1e-6)
        var longStep = state
        longStep.rho = [5]   // softplus(5) ≈ 5: the validation victims must move
        #expect(c.validationScore(longStep) != c.validationScore(state), "the score takes the step")
        let poison = c.poisonSet(state)
        #expect(poison.images.scalars == best.images[0].scalars, "the poison is the best validated one")
        let resumed = try withTempDir { dir in
            let url = dir.appendingPathComponent("checkpoint.safetensors")
            try Checkpoint.write(state, configHash: "h", to: url)
            return try Checkpoint.read(from: url, configHash: "h", into: c.initialState())
        }
        let kept = try #require(resumed.best, "the checkpoint keeps the best validated poison")
        #expect(kept.score == best.score && kept.iteration == best.iteration && kept.rho == best.rho)
        #expect(kept.images.map(\.scalars) == best.images.map(\.scalars) && kept.labelLogits.map(\.scalars) == best.labelLogits.map(\.scalars))
        #expect(c.poisonSet(resumed).images.scalars == poison.images.scalars, "a resumed run ends with the same poison")
        var bad = c.spec
        bad.robustness.validationVictims = 0
        #expect(bad.problem?.contains("robustness.validation_victims") == true)
    }

    @Test("retain_kl is zero for an unchanged victim and grows when the other classes' predictions move")
    func retainKL() throws {
        let c = try crafter { $0.robustness.retainKL = 2 }
        var rng = SeededGenerator(seed: 8)
        let logits = Tensor.randomNormal([3, 4], using: &rng)
        let wanted = Tensor.oneHot([1, 1, 2], classes: 4)
        let ce = crossEntropy(logits, targets: wanted).item
        #expect(abs(c.outerLoss(logits, wanted: wanted, batchLabels: [0, 1, 2], before: logits).item - ce) < 1e-5)
        let moved = logits + Tensor.randomNormal([3, 4], using: &rng)
        #expect(c.outerLoss(moved, wanted: wanted, batchLabels: [0, 1, 2], before: logits).item > crossEntropy(moved, targets: wanted).item)
    }

    @Test("collateral_budget adds weight × the other classes' cross-entropy growth beyond the budget, and nothing within it")
    func collateralBudget() throws {
        let c = try crafter { $0.robustness.collateralBudget = 0.1; $0.robustness.collateralWeight = 3 }
        var rng = SeededGenerator(seed: 9)
        let before = Tensor.randomNormal([4, 3], using: &rng)
        let labels = [0, 1, 2, 2]   // class 0 is K: its row never counts
        let wanted = Tensor.oneHot([1, 1, 2, 2], classes: 3)
        func otherCE(_ logits: Tensor) -> Float {
            let rows = logSoftmax(logits).scalars
            return [1, 2, 3].map { -rows[$0 * 3 + labels[$0]] }.reduce(0, +) / 3
        }
        #expect(c.collateralExcess(after: before, before: before, batchLabels: labels, budget: 0.1).item == 0)
        // Raise every row's logit of its true class: the other classes' cross-entropy falls.
        let better = before + Tensor.oneHot(labels, classes: 3) * 2
        #expect(c.collateralExcess(after: better, before: before, batchLabels: labels, budget: 0.1).item == 0)
        // Lower them: it grows by more than the budget, and the loss adds 3 × the excess.
        let worse = before - Tensor.oneHot(labels, classes: 3) * 2
        let growth = otherCE(worse) - otherCE(before)
        #expect(growth > 0.1)
        let excess = c.collateralExcess(after: worse, before: before, batchLabels: labels, budget: 0.1).item
        #expect(abs(excess - (growth - 0.1)) < 1e-4)
        let loss = c.outerLoss(worse, wanted: wanted, batchLabels: labels, before: before).item
        #expect(abs(loss - (crossEntropy(worse, targets: wanted).item + 3 * excess)) < 1e-4)
    }
}
