import Autodiff
import Datasets
import Evaluation
import Networks
import Poisoning
import Specs
import Testing

/// The norm over all parameters of `a − b`.
func distance(_ a: [Tensor], _ b: [Tensor]) -> Float {
    zip(a, b).reduce(Float(0)) { total, pair in total + zip(pair.0.scalars, pair.1.scalars).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        .squareRoot()
}

@Suite("Defenses")
struct DefenseTests {
    let victim = Fixture.victims()[0].parameters

    @Test("the gate refuses a destructive update and keeps the weights; it lets a harmless one through")
    func gate() {
        let gate = ValidationGate(maxDrop: 0.02, validation: Fixture.data.train)
        var wrecking = Fixture.poison()
        wrecking.stepSizes = [50]
        let refused = gate.apply(victim, poison: wrecking, classifier: Fixture.net)
        #expect(!refused.accepted && distance(refused.parameters, victim) == 0)
        var gentle = Fixture.poison()
        gentle.stepSizes = [1e-6]
        let taken = gate.apply(victim, poison: gentle, classifier: Fixture.net)
        #expect(taken.accepted && distance(taken.parameters, victim) > 0)
    }

    @Test("the loss filter drops the highest-loss images of each step")
    func filter() {
        let poison = Fixture.poison()
        let kept = LossFilter.filtered(poison, fraction: 0.25, parameters: victim, classifier: Fixture.net)
        #expect(kept.labels.count == 6)
        let losses = GradientMode.withoutRecording {
            (-(logSoftmax(Fixture.net.logits(poison.images, victim)) * Tensor.oneHot(poison.labels, classes: 4))
                .sum(alongAxes: [1])).scalars
        }
        let dropped = Set(losses.indices.sorted { losses[$0] > losses[$1] }.prefix(2))
        let expected = poison.images.scalars.enumerated().filter { !dropped.contains($0.offset / 784) }.map(\.element)
        #expect(kept.images.scalars == expected)
    }

    @Test("DP-SGD's clipping bounds the step (no noise); noise moves it, reproducibly")
    func dpSGD() {
        let poison = Fixture.poison()
        let clipped = NoisyClippedStep(clip: 0.1, noise: 0, seed: 1).apply(victim, poison: poison, classifier: Fixture.net)
        #expect(distance(clipped.parameters, victim) <= 0.3 * 0.1 * 1.0001)
        let plain = PlainUpdate().apply(victim, poison: poison, classifier: Fixture.net)
        #expect(distance(plain.parameters, victim) > 0.3 * 0.1, "the fixture's plain step is longer than the bound")
        let noisy = NoisyClippedStep(clip: 0.1, noise: 1, seed: 1)
        let a = noisy.apply(victim, poison: poison, classifier: Fixture.net), b = noisy.apply(victim, poison: poison, classifier: Fixture.net)
        #expect(distance(a.parameters, b.parameters) == 0 && distance(a.parameters, clipped.parameters) > 0)
    }

    @Test("caps: the step size and the update's norm")
    func caps() {
        let poison = Fixture.poison()
        var slow = poison
        slow.stepSizes = [0.05]
        let capped = StepCap(max: 0.05).apply(victim, poison: poison, classifier: Fixture.net)
        #expect(distance(capped.parameters, PlainUpdate().apply(victim, poison: slow, classifier: Fixture.net).parameters) == 0)
        let bounded = NormCap(max: 0.01).apply(victim, poison: poison, classifier: Fixture.net)
        #expect(abs(distance(bounded.parameters, victim) - 0.01) < 1e-4)
    }

    @Test("dilution steps on the poison mixed with clean images, which shrinks its pull")
    func dilution() {
        let poison = Fixture.poison()
        let small = Dilution(count: 8, train: Fixture.data.train, seed: 3).apply(victim, poison: poison, classifier: Fixture.net)
        let large = Dilution(count: 150, train: Fixture.data.train, seed: 3).apply(victim, poison: poison, classifier: Fixture.net)
        let plain = PlainUpdate().apply(victim, poison: poison, classifier: Fixture.net)
        #expect(distance(small.parameters, plain.parameters) > 0)
        #expect(distance(large.parameters, plain.parameters) > distance(small.parameters, plain.parameters))
    }

    @Test("defenses parse from the command line and YAML; bad names and values name the rule")
    func parsing() throws {
        #expect(try DefenseSpec(commandLine: "gate:max_drop=0.02") == .gate(maxDrop: 0.02))
        #expect(try DefenseSpec(commandLine: "dp_sgd:clip=1,noise=0.5").key == "dp_sgd:clip=1,noise=0.5")
        #expect(try DefenseSpec(commandLine: "clustering:clean=1000,max_share=0.35") == .clustering(clean: 1000, maxShare: 0.35))
        #expect(try DefenseSpec(commandLine: "spectral:fraction=0.15,clean=1000").key == "spectral:clean=1000,fraction=0.15")
        struct Holder: Decodable { let defenses: [DefenseSpec] }
        let yaml = "defenses:\n  - dilution: {clean: 1000}\n  - step_cap: {max: 0.05}\n"
        #expect(try SpecFile.decode(Holder.self, yaml: yaml, file: "d.yaml").defenses == [.dilution(clean: 1000), .stepCap(max: 0.05)])
        for (text, words) in [("shield", "unknown defense 'shield'"), ("gate:max_drop=-1", "max_drop must be a finite number ≥ 0"),
                              ("gate:delta=0.1", "unknown parameter 'delta'"), ("filter:fraction=1", "fraction must be below 1"),
                              ("dilution", "needs clean"), ("gate:max_drop", "key=number pairs"),
                              ("spectral:clean=100,fraction=1", "fraction must be below 1"), ("spectral:fraction=0.1", "needs clean"),
                              ("clustering:clean=100,max_share=0.6", "max_share must be at most 0.5")] {
            do { _ = try DefenseSpec(commandLine: text); Issue.record("\(text) accepted") } catch {
                #expect(error.description.contains(words), "\(error)")
            }
        }
    }

    @Test("a plan scores the poison and its controls under each defense; the gate's counts are per update")
    func plan() throws {
        // The gate's two clear cases (see `gate`): a wrecking poison is refused by both
        // victims, a gentle control accepted by both, so the counts cannot come out right
        // by accident or from a mixed-up poison and control.
        var wrecking = Fixture.poison()
        wrecking.stepSizes = [50]
        var plan = EvaluationPlan(poison: wrecking, heldout: Fixture.victims())
        var gentle = Fixture.poison()
        gentle.stepSizes = [1e-6]
        plan.controls = [.init(key: "no_poison", description: "none", poison: nil), .init(key: "real", description: "r", poison: gentle)]
        plan.defenses = [StepCap(max: 0.01), ValidationGate(maxDrop: 0.02, validation: Fixture.data.train)]
        let results = try plan.run(classifier: Fixture.net, images: Fixture.data.test, workers: 1)
        #expect(results.defenses.map(\.key) == ["step_cap:max=0.01", "gate:max_drop=0.02"])
        #expect(Set(results.defenses[0].controls.keys) == ["real"])
        #expect(results.defenses[0].poison.accepted == 2, "a step cap accepts every update")
        #expect(results.defenses[1].poison.accepted == 0, "both victims refuse the wrecking poison")
        #expect(results.defenses[1].controls["real"]?.accepted == 2, "both victims accept the gentle control")
    }
}
