import Autodiff
import Datasets
import Distillation
import Networks
import Poisoning

/// The matching methods' shared tiny setting: the synthetic 4-class data, `networks`
/// random LeNet initializations as the crafting pool (the random-init setting), and a
/// score of a distilled set by what it teaches the last two of them.
enum TinyDistillation {
    /// A standard-objective spec with 1 image per class, 2 networks per iteration, 10 epochs.
    static func spec(_ method: MethodKind) -> AttackSpec {
        var spec = AttackSpec(name: "k", zoo: "z", forget: "0", target: "0")
        spec.objective = .standard
        spec.method = method
        (spec.imagesPerClass, spec.victimsPerIteration, spec.realBatchSize, spec.epochs) = (1, 2, 64, 10)
        spec.optimizer.learningRate = 0.05
        return spec
    }

    static func context(_ spec: AttackSpec, networks: Int) throws -> CraftingContext {
        let net = try LeNet(inputShape: [1, 28, 28], classes: 4)
        var rng = SeededGenerator(seed: 5)
        let victims = (0..<networks).map { _ in net.initialParameters(using: &rng) }
        return spec.craftingContext(classifier: net, data: try PreparedData.load(dataset: "synthetic"), victims: victims,
                                    forget: 0, target: 0, architecture: "lenet")
    }

    /// Test accuracy of the last two networks after 10 steps of `size` on `step`.
    static func accuracy(_ step: InnerStep, _ size: Float, context: CraftingContext) -> Double {
        let heldout = Array(context.victims.suffix(2)), test = context.data.test
        let hits = heldout.map { start in
            let theta = unroll(context.classifier, from: start, steps: [step], stepSizes: [Tensor](repeating: Tensor(size), count: 10),
                               epochs: 10, createGraph: false)
            return zip(context.classifier.predictions(test.batch(Array(0..<test.count)), theta), test.labels).filter { $0 == $1 }.count
        }
        return Double(hits.reduce(0, +)) / Double(heldout.count * test.count)
    }

    static func accuracy(_ poison: PoisonSet, context: CraftingContext) -> Double {
        let (images, targets) = poison.step(0, classes: 4)
        return accuracy(InnerStep(images: images, targets: targets), poison.stepSizes[0], context: context)
    }
}
