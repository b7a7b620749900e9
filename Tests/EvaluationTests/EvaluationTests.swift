import Autodiff
import Datasets
import Evaluation
import Networks
import Poisoning
import Testing

/// Two random LeNets and a small poison on the synthetic 4-class data.
enum Fixture {
    static let data = try! PreparedData.load(dataset: "synthetic")
    static let net = try! LeNet(inputShape: [1, 28, 28], classes: 4)

    static func victims() -> [EvaluatedVictim] {
        var rng = SeededGenerator(seed: 5)
        return (0..<2).map { EvaluatedVictim(id: "v\($0)", role: .heldout, seed: UInt64($0), parameters: net.initialParameters(using: &rng)) }
    }

    static func poison(forget: Int = 2, target: Int = 3) -> PoisonSet {
        var rng = SeededGenerator(seed: 9)
        return PoisonSet(images: .randomNormal([8, 1, 28, 28], using: &rng), labels: [0, 0, 1, 1, 2, 2, 3, 3],
                         stepSizes: [0.3], steps: 1, epochs: 1,
                         metadata: .init(dataset: "synthetic", classNames: data.info.classNames, mean: data.normalization.mean,
                                         std: data.normalization.std, forget: forget, target: target, architecture: "lenet",
                                         seed: 1, objective: "forget"))
    }
}

@Suite("Victim updates")
struct VictimUpdateTests {
    @Test("a scaled step is the plain update with scaled step sizes; keys name the factor")
    func scaledStep() {
        let victim = Fixture.victims()[0].parameters
        var doubled = Fixture.poison()
        doubled.stepSizes = [0.6]
        let scaled = ScaledStep(factor: 2).apply(victim, poison: Fixture.poison(), classifier: Fixture.net)
        let plain = PlainUpdate().apply(victim, poison: doubled, classifier: Fixture.net)
        #expect(zip(scaled.parameters, plain.parameters).allSatisfy { $0.scalars == $1.scalars } && scaled.accepted)
        #expect(!zip(scaled.parameters, victim).allSatisfy { $0.scalars == $1.scalars }, "the step moved the weights")
        #expect(ScaledStep(factor: 0.5).key == "step_x0.5" && ScaledStep(factor: 2).key == "step_x2")
    }

    @Test("the 8-bit round trip keeps 8-bit pixels and clamps the rest to the image range")
    func eightBit() throws {
        let poison = Fixture.poison()
        let n = Fixture.data.normalization
        let once = EightBitImages.roundTrip(poison)
        var again = poison
        again.images = once
        let twice = EightBitImages.roundTrip(again)
        #expect(zip(once.scalars, twice.scalars).allSatisfy { abs($0 - $1) < 1e-5 }, "idempotent")
        let (low, high) = ((0 - n.mean[0]) / n.std[0], (1 - n.mean[0]) / n.std[0])
        #expect(once.scalars.allSatisfy { $0 >= low - 1e-5 && $0 <= high + 1e-5 })
        #expect(poison.images.scalars.contains { $0 < low || $0 > high }, "the fixture had pixels out of range")
    }
}

@Suite("Evaluation plans")
struct EvaluationPlanTests {
    @Test("K and T come from the poison; the no-poison control leaves victims as they were; probes are scored")
    func plan() throws {
        var plan = EvaluationPlan(poison: Fixture.poison(forget: 2, target: 3), heldout: Fixture.victims())
        plan.controls = [.init(key: "no_poison", description: "none", poison: nil)]
        plan.updates = [ScaledStep(factor: 0.5)]
        let results = try plan.run(classifier: Fixture.net, images: Fixture.data.test, workers: 1)
        let victim = results.heldout.victims[0]
        let k = victim.before.confusion[2]
        #expect(victim.before.asr == Double(k[3]) / Double(k.reduce(0, +)), "ASR is class 2 predicted as 3")
        let control = try #require(results.controls.first)
        #expect(control.victims.victims.map(\.after) == control.victims.victims.map(\.before) && control.stepSize == 0)
        #expect(results.updates.map(\.key) == ["step_x0.5"] && results.updates[0].accepted == 2)
        #expect(results.known == nil && results.crafting == nil)
    }

    @Test("a poison that does not fit the victims is refused before anything runs")
    func mismatch() {
        var poison = Fixture.poison()
        poison.metadata.mean = [0.1, 0.2]
        let plan = EvaluationPlan(poison: poison, heldout: Fixture.victims())
        #expect(throws: PoisonError.self) { try plan.run(classifier: Fixture.net, images: Fixture.data.test, workers: 1) }
    }
}
