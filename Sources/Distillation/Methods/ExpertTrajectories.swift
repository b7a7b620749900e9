import Autodiff
import Datasets
import Foundation
import Networks
import Poisoning

/// MTT's distillation form (Cazenavette et al., "Dataset Distillation by Matching Training
/// Trajectories", CVPR 2022): learn images x̃ (fixed labels, block c labelled c) and one
/// step size η̃ such that N steps on them from an expert's parameters at epoch e land where
/// the expert was M epochs later:
///     loss = ‖θ_N − θ_{e+M}‖² / ‖θ_e − θ_{e+M}‖²   (`TrajectoryMatching.normalizedDistance`).
/// Each iteration draws one expert and e uniformly in [0, max_start_epoch) from (seed,
/// iteration), takes the N steps in the graph (`unroll`, each on `synthetic_batch` images
/// or all), and takes one Adam step on x̃ and on ρ (η̃ = softplus(ρ), starting at the
/// experts' learning rate as MTT's `syn_lr` does) through them.
///
/// The experts (`ExpertBuffer`) are trained on the clean data once and cached in the zoo's
/// `experts/` folder; the first iteration trains the missing ones, `workers` side by side.
///
/// Its own method, not a form of `trajectory-matching`: that attack matches a victim
/// fine-tuned on relabelled data, from the victim itself, for the poison's own steps; this
/// matches segments of clean experts from their middle, for N steps of its own. They share
/// the loss and the state (images, ρ, two Adams), not their targets or options.
///
/// The distilled set is the images taken `epochs` times at a step size fitted on the
/// crafting networks (`poisonSet`, as every matching method): η̃ is learned for N steps from
/// a partly trained expert, not for `epochs` steps from an initialization.
public struct ExpertTrajectories: DistillationMethod {
    public typealias State = TrajectoryMatching.State
    public let spec: AttackSpec
    public let context: CraftingContext
    let buffer: ExpertBuffer

    public init(spec: AttackSpec, context: CraftingContext) {
        (self.spec, self.context) = (spec, context)
        buffer = ExpertBuffer(context: context, options: spec.expertTrajectories ?? ExpertTrajectoryOptions())
    }

    public var iterations: Int { spec.iterations }
    var options: ExpertTrajectoryOptions { buffer.options }
    /// The seeds' method gives the start (images and block labels) and the pixel projection.
    var seedsMethod: UnrolledSteps { UnrolledSteps(spec: spec, context: context) }

    public func initialState() -> State {
        State(images: seedsMethod.initialState().images[0], stepSize: options.expertLearningRate, optimizer: spec.optimizer)
    }

    /// θ_0 … θ_train_epochs of every expert, trained or read from the cache.
    public func expertTrajectories(workers: Int = 2) -> [[[Tensor]]] {
        buffer.prepare(workers: workers)
        return (0..<options.experts).map(buffer.trajectory)
    }

    /// The rows of each synthetic step: `synthetic_batch` images at a time through a shuffle
    /// of the set, reshuffled when it runs out (MTT's `indices_chunks`), or all of them.
    func stepRows(count: Int, using rng: inout SeededGenerator) -> [[Int]] {
        guard let batch = options.syntheticBatch, batch < count else {
            return [[Int]](repeating: Array(0..<count), count: options.syntheticSteps)
        }
        var pending: [Int] = []
        return (0..<options.syntheticSteps).map { _ in
            if pending.count < batch { pending += Array(0..<count).shuffled(using: &rng) }
            defer { pending.removeFirst(batch) }
            return Array(pending.prefix(batch))
        }
    }

    public func iterate(_ state: inout State, workers: Int = 2) {
        buffer.prepare(workers: workers)
        var rng = spec.iterationGenerator(state.iteration)
        let expert = Int.random(in: 0..<options.experts, using: &rng)
        let epoch = Int.random(in: 0..<options.maxStartEpoch, using: &rng)
        let images = state.images.requiringGradient(), rho = Tensor(state.rho).requiringGradient()
        let loss = segmentLoss(images: images, rho: rho, expert: expert, epoch: epoch, using: &rng)
        let grads = gradients(of: loss, wrt: [images, rho])
        state.update(imageGradient: grads[0], rhoGradient: grads[1], loss: loss.item, optimizer: spec.optimizer,
                     projection: seedsMethod.pixelProjected)
    }

    /// The matching loss of `images` at step size softplus(`rho`) on expert `expert`'s
    /// segment from epoch `epoch`, in the graph: N steps from θ_e, compared with θ_{e+M}.
    public func segmentLoss(images: Tensor, rho: Tensor, expert: Int, epoch: Int, using rng: inout SeededGenerator) -> Tensor {
        let trajectory = buffer.trajectory(expert)
        let (start, target) = (trajectory[epoch], trajectory[epoch + options.expertEpochs])
        let labels = seedsMethod.stepLabels
        let imageSize = images.count / labels.count
        let steps = stepRows(count: labels.count, using: &rng).map { rows in
            guard rows.count < labels.count else { return InnerStep(images: images, labels: labels, classes: context.classes) }
            let offsets = rows.flatMap { row in (0..<imageSize).map { Int32(row * imageSize + $0) } }
            return InnerStep(images: remapped(images, sourceOffsets: offsets, shape: [rows.count] + Array(images.shape.dropFirst())),
                             labels: rows.map { labels[$0] }, classes: context.classes)
        }
        let eta = softplus(rho)
        let theta = unroll(context.classifier, from: start, steps: steps,
                           stepSizes: [Tensor](repeating: eta, count: steps.count), epochs: 1, createGraph: true)
        return TrajectoryMatching.normalizedDistance(theta, start: start, target: target)
    }

    /// The distilled set: the images, taken `epochs` times at the fitted step size.
    public func poisonSet(_ state: State) -> PoisonSet {
        context.fittedPoison(images: state.images, labels: seedsMethod.stepLabels, softLabels: nil, epochs: spec.epochs, seed: spec.seed)
    }
}
