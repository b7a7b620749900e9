import Autodiff
import Foundation
import Networks

/// Distribution matching (DM: Zhao & Bilen, "Dataset Condensation with Distribution
/// Matching", WACV 2023): per class c, the squared distance between the mean embedding
/// (`Classifier.features`, the penultimate activations) of a real batch of class c and of
/// the synthetic block c, under networks sampled anew every iteration
/// (`victims_per_iteration` crafting networks: initializations of an init zoo for
/// distillation), summed over classes and networks; the images take one Adam step on it.
/// With `dsa`, each class's real and synthetic batch share one random augmentation per
/// network and iteration. No bilevel problem and no second order: the cheapest method.
///
/// Attack (objective `forget`): the same loss, with block c labelled as the objective
/// wants class c and the networks the trained crafting victims. Block K, labelled T, is
/// pulled to where the victims embed real class-K images: its gradient at the last layer,
/// (softmax − e_T) · φᵀ, is then the K→T relabelled gradient of real class-K images (to
/// first order in the spread around the mean embedding), and the other blocks keep their
/// own class in place. A feature-space form of the label-flipping poison: it moves K→T
/// through the last layer, not through what the earlier layers learn.
public struct DistributionMatching: MatchingMethod {
    public let core: MatchingCore
    let options: DistributionMatchingOptions

    public init(spec: AttackSpec, context: CraftingContext) {
        core = MatchingCore(spec: spec, context: context)
        options = spec.distributionMatching ?? DistributionMatchingOptions()
    }

    public func iterate(_ state: inout MatchingState, workers: Int) {
        var rng = core.generator(state.iteration)
        let classifier = core.context.classifier
        let networks = core.sampledVictims(core.spec.victimsPerIteration, using: &rng)
        let real = (0..<core.classes).map { core.context.data.train.batch(core.realIndices(of: $0, count: options.realPerClass, using: &rng)) }
        let views = networks.map { _ in (0..<core.classes).map { _ in core.augmentation(options.dsa, using: &rng) } }
        let (loss, gradient) = core.perClassGradient(state.images, workers: workers) { c, block in
            networks.indices.map { n in
                let view = views[n][c]
                let target = GradientMode.withoutRecording {
                    classifier.features(view.map { $0.apply(real[c]) } ?? real[c], networks[n]).mean(alongAxes: [0])
                }
                let synthetic = classifier.features(view.map { $0.apply(block) } ?? block, networks[n]).mean(alongAxes: [0])
                return Self.distance(synthetic, target)
            }.reduce(Tensor(0), +) * (1 / Float(networks.count))
        }
        core.update(&state, gradient: gradient)
        state.losses.append(loss)
        state.iteration += 1
    }

    /// ‖a − b‖²: the squared distance between two mean embeddings.
    public static func distance(_ a: Tensor, _ b: Tensor) -> Tensor {
        let difference = a - b
        return (difference * difference).sum()
    }
}
