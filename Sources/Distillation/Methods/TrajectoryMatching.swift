import Autodiff
import Datasets
import Formats
import Foundation
import Networks
import Poisoning

/// Trajectory matching (MTT: Cazenavette et al., "Dataset Distillation by Matching
/// Training Trajectories", CVPR 2022) as the attack engine: learn images x̃ (fixed labels)
/// and one step size η̃ = softplus(ρ) such that `epochs` unrolled steps on them carry a
/// crafting victim θ₀ to where training on K→T relabelled real data would carry it,
///     loss = ‖θ_N − θ*‖² / ‖θ₀ − θ*‖²,
/// MTT's normalization: the distance left as a share of the distance the target moved,
/// so victims (and layers) whose targets move little still count.
///
/// The target θ* is θ₀ after `trajectory_matching.target_steps` plain SGD steps at
/// `target_learning_rate` on real batches with the objective's targets (so `forget_share`
/// and `retain_weight` shape it as they shape every method's outer loss). It is computed
/// without a graph from (seed, victim) alone and cached, so every iteration that samples a
/// victim matches the same target and a resumed run repeats exactly.
///
/// Where MTT matches snapshots of an expert trained on clean data, an attacker has no
/// expert of the poisoned behaviour; the fine-tuned θ* is that expert. The poison is one
/// step repeated `epochs` times, as the victims are then scored (step size: `poisonSet`).
public struct TrajectoryMatching: DistillationMethod {
    public let spec: AttackSpec
    public let context: CraftingContext
    let targets = TargetCache()

    public struct State: MethodState {
        /// The poison images [M, C, H, W].
        public var images: Tensor
        /// Pre-softplus step size of every unrolled step.
        public var rho: Float
        public var imageOptimizer: Adam
        public var stepSizeOptimizer: Adam
        public var iteration: Int
        public var losses: [Float]

        public var lastLoss: Float? { losses.last }
        public var currentStepSizes: [Float] { UnrolledSteps.stepSizes([rho]) }
    }

    public init(spec: AttackSpec, context: CraftingContext) {
        (self.spec, self.context) = (spec, context)
    }

    public var iterations: Int { spec.iterations }
    var options: TrajectoryOptions { spec.trajectoryMatching ?? TrajectoryOptions() }
    /// The seeds' method gives the start (images and block labels) and the pixel projection.
    var seedsMethod: UnrolledSteps { UnrolledSteps(spec: spec, context: context) }

    public func initialState() -> State {
        State(images: seedsMethod.initialState().images[0], stepSize: spec.initialStepSize, optimizer: spec.optimizer)
    }

    /// ‖θ − θ*‖² / ‖θ₀ − θ*‖² summed over all parameter tensors; the denominator is a
    /// constant (θ₀ and θ* carry no gradient).
    public static func normalizedDistance(_ theta: [Tensor], start: [Tensor], target: [Tensor]) -> Tensor {
        let moved = GradientMode.withoutRecording {
            zip(start, target).map { (($0 - $1) * ($0 - $1)).sum().item }.reduce(0, +)
        }
        let left = zip(theta, target).map { (($0 - $1) * ($0 - $1)).sum() }
        return left.dropFirst().reduce(left[0], +) * (1 / max(moved, .leastNormalMagnitude))
    }

    /// θ* of crafting victim `victim`: its weights after the target steps on relabelled
    /// real batches drawn from (seed, victim).
    func target(_ victim: Int) -> [Tensor] {
        targets.value(victim) {
            var rng = SeededGenerator(seed: spec.seed &* 0x2545_F491 &+ UInt64(victim) &+ 0x7A5)
            let steps = (0..<options.targetSteps).map { _ in
                let (batch, wanted) = context.realBatch(size: spec.realBatchSize, using: &rng)
                return InnerStep(images: context.data.train.batch(batch), targets: wanted)
            }
            return unroll(context.classifier, from: context.victims[victim], steps: steps,
                          stepSizes: [Tensor](repeating: Tensor(options.targetLearningRate), count: steps.count),
                          epochs: 1, createGraph: false)
        }
    }

    /// One Adam step on the images and the step size, the loss averaged over the victims
    /// sampled from (seed, iteration).
    public func iterate(_ state: inout State, workers: Int = 2) {
        var rng = spec.iterationGenerator(state.iteration)
        let chosen = spec.sampledVictims(Array(context.victims.indices), using: &rng)
        let images = state.images.requiringGradient(), rho = Tensor(state.rho).requiringGradient()
        let labels = Tensor.oneHot(seedsMethod.stepLabels, classes: context.classes)
        let perVictim = parallelMap(chosen, workers: workers) { victim -> (Float, [Tensor]) in
            let start = context.victims[victim]
            let eta = softplus(rho)
            let theta = unroll(context.classifier, from: start, steps: [InnerStep(images: images, targets: labels)],
                               stepSizes: [Tensor](repeating: eta, count: spec.epochs), epochs: spec.epochs, createGraph: true)
            let loss = Self.normalizedDistance(theta, start: start, target: target(victim))
            return (loss.item, gradients(of: loss, wrt: [images, rho]))
        }
        let share = 1 / Float(perVictim.count)
        let summed = GradientMode.withoutRecording {
            (0..<2).map { i in perVictim.dropFirst().reduce(perVictim[0].1[i]) { $0 + $1.1[i] } * share }
        }
        state.update(imageGradient: summed[0], rhoGradient: summed[1], loss: perVictim.map(\.0).reduce(0, +) * share,
                     optimizer: spec.optimizer, projection: seedsMethod.pixelProjected)
    }

    /// The poison: the images, repeated `epochs` times at a step size fitted on the crafting
    /// victims (`StepSizeScorer`, as KIP's). The learned η̃ only serves the matching: it is
    /// the one that lands nearest θ*, not the one that flips class K (on the tiny attack
    /// test the poison at the learned η̃ reached held-out ASR 0%, at the fitted one it passes).
    public func poisonSet(_ state: State) -> PoisonSet {
        context.fittedPoison(images: state.images, labels: seedsMethod.stepLabels, softLabels: nil, epochs: spec.epochs, seed: spec.seed)
    }
}

/// The targets θ* computed so far, by victim index: shared by the iterations (which may
/// run victims in parallel) of one method value.
final class TargetCache: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Int: [Tensor]] = [:]

    /// The cached value for `victim`, computed by `make` (outside the lock) on first use.
    /// Two threads racing on one victim compute the same deterministic value.
    func value(_ victim: Int, _ make: () -> [Tensor]) -> [Tensor] {
        if let hit = lock.withLock({ stored[victim] }) { return hit }
        let made = make()
        lock.withLock { stored[victim] = made }
        return made
    }
}

extension TrajectoryMatching.State {
    /// The start: `images`, the step size η̃ = softplus(ρ) at `stepSize`, fresh Adams.
    init(images: Tensor, stepSize: Float, optimizer o: OuterOptimizer) {
        self.init(images: images, rho: Foundation.log(Foundation.expm1(stepSize)), imageOptimizer: o.adam(o.learningRate),
                  stepSizeOptimizer: o.adam(o.stepSizeLearningRate), iteration: 0, losses: [])
    }

    /// One Adam step of the images (then `projection`) and of ρ on their gradients, at the
    /// optimizer's rates decayed for this iteration; records the iteration's loss.
    mutating func update(imageGradient: Tensor, rhoGradient: Tensor, loss: Float, optimizer: OuterOptimizer,
                         projection: (Tensor) -> Tensor) {
        let factor = optimizer.decayFactor(at: iteration)
        imageOptimizer.learningRate = optimizer.learningRate * factor
        stepSizeOptimizer.learningRate = optimizer.stepSizeLearningRate * factor
        images = projection(imageOptimizer.step([images], [imageGradient])[0])
        rho = stepSizeOptimizer.step([Tensor(rho)], [rhoGradient])[0].item
        losses.append(loss)
        iteration += 1
    }

    public func save(into file: inout SafeTensors) throws {
        file.metadata["image_adam_steps"] = String(imageOptimizer.state.steps)
        file.metadata["step_adam_steps"] = String(stepSizeOptimizer.state.steps)
        try Checkpoint.add([images], imageOptimizer.state, prefix: "images", to: &file)
        try Checkpoint.add([Tensor(rho)], stepSizeOptimizer.state, prefix: "rho", to: &file)
        try file.add(name: "losses", floats: losses, shape: [losses.count])
    }

    public mutating func restore(from file: SafeTensors, source: String) throws {
        func count(_ key: String) throws -> Int { try Checkpoint.count(key, in: file, source: source) }
        var imageList = [images], rhoList = [Tensor(rho)]
        try Checkpoint.restore(&imageList, &imageOptimizer, prefix: "images", steps: count("image_adam_steps"), from: file)
        try Checkpoint.restore(&rhoList, &stepSizeOptimizer, prefix: "rho", steps: count("step_adam_steps"), from: file)
        (images, rho) = (imageList[0], rhoList[0].item)
        (losses, iteration) = try Checkpoint.history(in: file, source: source)
    }
}
