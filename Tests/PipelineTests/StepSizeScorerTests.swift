import Autodiff
import Datasets
import Distillation
import Evaluation
import Networks
import Poisoning
import Testing
import Vocabulary

@Suite("One step-size scorer")
struct StepSizeScorerTests {
    @Test("a method's fitted poison and a control with the same images get the same step size: they go through the same scorer")
    func poisonAndControlsAlike() throws {
        let data = try PreparedData.load(dataset: "synthetic")
        let net = try LeNet(inputShape: data.inputShape, classes: data.info.numClasses)
        var rng = SeededGenerator(seed: 3)
        let victims = (0..<3).map { _ in net.initialParameters(using: &rng) }
        var spec = AttackSpec(name: "s", zoo: "z", forget: "0", target: "1")
        (spec.forgetShare, spec.retainWeight) = (0.2, 1.5)
        let context = spec.craftingContext(classifier: net, data: data, victims: victims, forget: 0, target: 1, architecture: "lenet")
        let control = RandomRealImages(context: context, perClass: 2, seed: 5).poisonSet(NoState())
        let poison = context.fittedPoison(images: control.images, labels: control.labels, softLabels: nil, epochs: 1, seed: spec.seed)
        #expect(StepSizeScorer.candidates.contains(poison.stepSizes[0]))

        var plan = EvaluationPlan(poison: poison, heldout: [EvaluatedVictim(id: "v", role: .heldout, seed: 0, parameters: victims[0])])
        plan.controls = [.init(key: "same_images", description: "the poison's images as a control", poison: control)]
        plan.scorer = context.stepSizeScorer(seed: spec.seed)
        let results = try plan.run(classifier: net, images: data.test, workers: 1)
        #expect(results.controls[0].stepSize == poison.stepSizes[0])
    }
}
