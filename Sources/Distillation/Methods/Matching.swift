import Autodiff
import Datasets
import Formats
import Foundation
import Networks
import Poisoning

/// What the matching methods (gradient and distribution matching) share: synthetic images
/// learned by Adam on a matching loss, labelled as the objective wants their block's
/// class (class K's block as T under `forget`), and taken by the victim with a step size
/// fitted afterwards on crafting victims (they learn none).
public struct MatchingState: MethodState {
    /// [M, C, H, W]: `images_per_class` images of each class, in class order.
    public var images: Tensor
    public var optimizer: Adam
    public var iteration: Int
    /// Matching loss of each completed iteration.
    public var losses: [Float]

    public var lastLoss: Float? { losses.last }
    public var currentStepSizes: [Float] { [] }

    public func save(into file: inout SafeTensors) throws {
        file.metadata["image_adam_steps"] = String(optimizer.state.steps)
        try Checkpoint.add([images], optimizer.state, prefix: "images", to: &file)
        try file.add(name: "losses", floats: losses, shape: [losses.count])
    }

    public mutating func restore(from file: SafeTensors, source: String) throws {
        var tensors = [images]
        try Checkpoint.restore(&tensors, &optimizer, prefix: "images",
                                        steps: Checkpoint.count("image_adam_steps", in: file, source: source), from: file)
        images = tensors[0]
        (losses, iteration) = try Checkpoint.history(in: file, source: source)
    }
}

/// A matching method: its iterations, start and poison set are its core's.
public protocol MatchingMethod: DistillationMethod where State == MatchingState {
    var core: MatchingCore { get }
}

extension MatchingMethod {
    public var iterations: Int { core.spec.iterations }
    public func initialState() -> MatchingState { core.initialState() }
    public func poisonSet(_ state: MatchingState) -> PoisonSet { core.poisonSet(state) }
}

/// The spec, context and helpers both matching methods work with.
public struct MatchingCore: Sendable {
    let spec: AttackSpec
    let context: CraftingContext
    /// Training indices of each class, for per-class real batches.
    let byClass: [[Int]]

    init(spec: AttackSpec, context: CraftingContext) {
        (self.spec, self.context) = (spec, context)
        byClass = context.data.train.indicesByClass()
    }

    var classes: Int { context.classes }
    var perClass: Int { spec.imagesPerClass }
    /// Block c's label: as the objective wants class c.
    var labels: [Int] { (0..<classes).flatMap { c in [Int](repeating: context.objective.wantedLabel(c), count: perClass) } }

    /// Noise or real images of each class (`initial_images`), as the seeds' method starts.
    func initialState() -> MatchingState {
        var rng = SeededGenerator(seed: spec.seed)
        let images = spec.initialImages == .noise
            ? Tensor.randomNormal([perClass * classes] + context.data.inputShape, using: &rng)
            : RandomRealImages(context: context, perClass: perClass, seed: spec.seed).images().images
        let o = spec.optimizer
        return MatchingState(images: projected(images), optimizer: Adam(learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2),
                             iteration: 0, losses: [])
    }

    /// The generator of one iteration's randomness, from (seed, iteration).
    func generator(_ iteration: Int) -> SeededGenerator {
        SeededGenerator(seed: spec.seed &* 0x9E37_79B9 &+ UInt64(iteration) &+ 1)
    }

    /// `count` random training indices of class `c`.
    func realIndices(of c: Int, count: Int, using rng: inout SeededGenerator) -> [Int] {
        (0..<count).map { _ in byClass[c][Int.random(in: 0..<byClass[c].count, using: &rng)] }
    }

    /// `count` crafting victims: the first ones with fixed knowledge, else a random draw.
    func sampledVictims(_ count: Int, using rng: inout SeededGenerator) -> [[Tensor]] {
        let all = context.victims
        guard spec.knowledge == .distribution, all.count > count else { return Array(all.prefix(count)) }
        return Array(all.shuffled(using: &rng).prefix(count))
    }

    /// Block `c` of `images`.
    func block(_ images: Tensor, _ c: Int) -> Tensor { sliced(images, axis: 0, range: (c * perClass)..<((c + 1) * perClass)) }

    /// Per-class losses and their gradients with respect to each class's block, computed
    /// side by side: `loss(c, block)` builds class c's loss on its block (a gradient leaf).
    /// Returns the summed loss and the gradient for the whole image tensor.
    func perClassGradient(_ images: Tensor, workers: Int,
                          _ loss: @Sendable (Int, Tensor) -> Tensor) -> (loss: Float, gradient: Tensor) {
        let results = parallelMap(Array(0..<classes), workers: workers) { c -> (Float, Tensor) in
            let leaf = block(images, c).requiringGradient()
            let value = loss(c, leaf)
            return (value.item, gradients(of: value, wrt: [leaf])[0])
        }
        let gradient = GradientMode.withoutRecording { concatenated(results.map(\.1), axis: 0) }
        return (results.map(\.0).reduce(0, +), gradient)
    }

    /// One Adam step on the images (learning rate decayed as the spec's optimizer says),
    /// then the pixel projection.
    func update(_ state: inout MatchingState, gradient: Tensor) {
        state.optimizer.learningRate = spec.optimizer.learningRate * spec.optimizer.decayFactor(at: state.iteration)
        state.images = projected(state.optimizer.step([state.images], [gradient])[0])
    }

    /// `images` clamped to the pixel range when `clip_pixels` is set.
    func projected(_ images: Tensor) -> Tensor {
        spec.clipPixels ? context.data.normalization.clampedToPixelRange(images) : images
    }

    /// The siamese augmentation of one class at one matching step, when `dsa` is on.
    func augmentation(_ dsa: Bool, using rng: inout SeededGenerator) -> SiameseAugmentation? {
        guard dsa else { return nil }
        let shape = context.data.inputShape
        return SiameseAugmentation(drawnFor: (shape[1], shape[2]), using: &rng)
    }

    /// The poison set: one step taken `epochs` times with the fitted step size.
    func poisonSet(_ state: MatchingState) -> PoisonSet {
        context.fittedPoison(images: state.images, labels: labels, softLabels: nil, epochs: spec.epochs, seed: spec.seed)
    }
}
