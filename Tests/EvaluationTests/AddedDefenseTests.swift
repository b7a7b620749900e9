import Autodiff
import Evaluation
import Networks
import Poisoning
import Results
import Specs
import Testing

/// A defense written outside the Poisoning module, as a plug-in would: the victim halves
/// every step. Its evaluation form and its adaptive form sit side by side in this one type.
struct HalvedStep: Defense, AdaptiveDefense, VictimUpdate {
    static let name = "halved_step"
    static let form = "halved_step:"

    init() {}
    init(parameters: DefenseParameters) throws(SpecError) { _ = try parameters.take([], form: Self.form) }

    var parameters: [String: Float] { [:] }
    func update(in environment: DefenseEnvironment) -> any VictimUpdate { self }
    var adaptive: (any AdaptiveDefense)? { self }
    func stepSize(_ eta: Tensor) -> Tensor { eta * 0.5 }

    var key: String { DefenseSpec(self).key }
    var description: String { "The victim halves every step." }
    func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome {
        var halved = poison
        halved.stepSizes = poison.stepSizes.map { $0 * 0.5 }
        return PlainUpdate().apply(parameters, poison: halved, classifier: classifier)
    }
}

@Suite("A defense added from outside the module")
struct AddedDefenseTests {
    @Test("one type plus one registration line: specs and --defense name it, the evaluator scores it, its adaptive form halves the crafter's step")
    func registered() throws {
        Defenses.register(HalvedStep.self)
        #expect(DefenseSpec.forms.contains("halved_step:"))
        let spec = try DefenseSpec(commandLine: "halved_step")
        #expect(spec.key == "halved_step:" && spec == DefenseSpec(HalvedStep()))
        struct Holder: Decodable { let defenses: [DefenseSpec] }
        #expect(try SpecFile.decode(Holder.self, yaml: "defenses:\n  - halved_step: {}\n", file: "d.yaml").defenses == [spec])

        var plan = EvaluationPlan(poison: Fixture.poison(), heldout: Fixture.victims())
        plan.defenses = [spec.update(validation: Fixture.data.train, train: Fixture.data.train, seed: 1)]
        let results = try plan.run(classifier: Fixture.net, images: Fixture.data.test, workers: 1)
        #expect(results.defenses.map(\.key) == ["halved_step:"])
        var halved = Fixture.poison()
        halved.stepSizes = halved.stepSizes.map { $0 * 0.5 }
        let direct = Evaluator(classifier: Fixture.net, images: Fixture.data.test, forget: 2, target: 3)
            .evaluate(Fixture.victims(), poison: halved, workers: 1).victims.summary.after.asr.mean
        #expect(results.defenses[0].poison.victims.summary.after.asr.mean == direct)
        #expect(spec.defense.adaptive?.stepSize(Tensor(0.4)).item == 0.2)
    }
}
