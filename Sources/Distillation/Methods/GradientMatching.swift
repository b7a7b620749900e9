import Autodiff
import Foundation
import Networks
import Poisoning

/// Gradient matching (DC: Zhao, Mopuri & Bilen, "Dataset Condensation with Gradient
/// Matching", ICLR 2021), with differentiable Siamese augmentation as an option (`dsa`).
///
/// Distillation (objective `standard`): each iteration takes one crafting network (an
/// initialization from an init zoo) and follows its training on the synthetic set: for
/// `outer_loops` rounds, per class c, the distance D(∇θ ℓ(x̃_c, c), ∇θ ℓ(x_c, c)) between the
/// gradients of a synthetic and a real batch of class c is summed over classes and the
/// synthetic images take one Adam step on it (second order: the synthetic gradient stays
/// in the graph); between rounds the network takes `network_steps` gradient steps on the
/// synthetic set. D is the paper's: per weight tensor reshaped to out × rest, the sum over
/// output units of 1 − cosine; biases are left out, as the paper's code does.
///
/// Attack (objective `forget`): a victim takes one step on the poison, so what matters is
/// the direction of the poison's gradient at the victim's weights. Per sampled crafting
/// victim, the loss is 1 − cos(∇θ ℓ(x̃, ỹ), ∇θ L_K→T), both flattened over all parameters,
/// L_K→T being the objective's outer loss on a real batch (class K relabelled T, the others
/// weighted by `retain_weight`): the first-order form of the one-step objective (Witches'
/// Brew's alignment). One global cosine, not layer-wise: L_K→T(θ − η g) ≈ L_K→T(θ) − η⟨g,
/// ∇L_K→T⟩ rewards alignment of the whole update, and a layer-wise sum would demand it of
/// layers whose share of that inner product is negligible.
public struct GradientMatching: MatchingMethod {
    public let core: MatchingCore
    let options: GradientMatchingOptions

    public init(spec: AttackSpec, context: CraftingContext) {
        core = MatchingCore(spec: spec, context: context)
        options = spec.gradientMatching ?? GradientMatchingOptions()
    }

    public func iterate(_ state: inout MatchingState, workers: Int) {
        var rng = core.generator(state.iteration)
        let loss = core.spec.objective == .forget ? align(&state, workers: workers, using: &rng)
                                                  : matchAlongTraining(&state, workers: workers, using: &rng)
        state.losses.append(loss)
        state.iteration += 1
    }

    /// Distillation: one network's training, `outer_loops` synthetic updates along it.
    func matchAlongTraining(_ state: inout MatchingState, workers: Int, using rng: inout SeededGenerator) -> Float {
        let (classifier, labels, classes) = (core.context.classifier, core.labels, core.classes)
        var theta = core.sampledVictims(1, using: &rng)[0]
        var total: Float = 0
        for round in 0..<options.outerLoops {
            let real = (0..<classes).map { core.context.data.train.batch(core.realIndices(of: $0, count: options.realPerClass, using: &rng)) }
            let views = (0..<classes).map { _ in core.augmentation(options.dsa, using: &rng) }
            let weights = theta
            let (loss, gradient) = core.perClassGradient(state.images, workers: workers) { c, block in
                let label = labels[c * core.perClass]
                let target = Self.gradient(classifier, weights, images: views[c].map { $0.apply(real[c]) } ?? real[c], label: label,
                                           classes: classes, createGraph: false)
                let synthetic = Self.gradient(classifier, weights, images: views[c].map { $0.apply(block) } ?? block, label: label,
                                              classes: classes, createGraph: true)
                return Self.distance(synthetic, target)
            }
            core.update(&state, gradient: gradient)
            total += loss
            guard round < options.outerLoops - 1 else { break }
            let step = InnerStep(images: state.images, labels: labels, classes: classes)
            theta = unroll(classifier, from: theta, steps: [step],
                           stepSizes: [Tensor](repeating: Tensor(options.networkLearningRate), count: options.networkSteps),
                           epochs: options.networkSteps, createGraph: false)
        }
        return total / Float(options.outerLoops)
    }

    /// Attack: align the poison's gradient with the K→T gradient at sampled victims.
    func align(_ state: inout MatchingState, workers: Int, using rng: inout SeededGenerator) -> Float {
        let (classifier, spec, context) = (core.context.classifier, core.spec, core.context)
        let batch = context.objective.realBatch(size: spec.realBatchSize, using: &rng)
        let real = context.data.train.batch(batch), wanted = context.objective.outerTargets(batch)
        let victims = core.sampledVictims(spec.victimsPerIteration, using: &rng)
        let images = state.images, targets = Tensor.oneHot(core.labels, classes: core.classes)
        let perVictim = parallelMap(victims, workers: workers) { victim -> (Float, Tensor) in
            let theta = victim.map { $0.requiringGradient() }
            let adversarial = gradients(of: crossEntropy(classifier.logits(real, theta), targets: wanted), wrt: theta)
            let leaf = images.requiringGradient()
            let poison = gradients(of: crossEntropy(classifier.logits(leaf, theta), targets: targets), wrt: theta, createGraph: true)
            let loss = 1 - Self.cosine(poison, adversarial)
            return (loss.item, gradients(of: loss, wrt: [leaf])[0])
        }
        let gradient = GradientMode.withoutRecording {
            perVictim.dropFirst().reduce(perVictim[0].1) { $0 + $1.1 } * (1 / Float(perVictim.count))
        }
        core.update(&state, gradient: gradient)
        return perVictim.map(\.0).reduce(0, +) / Float(perVictim.count)
    }

    /// ∇θ of the cross-entropy of `images` all labelled `label`.
    static func gradient(_ classifier: any Classifier, _ parameters: [Tensor], images: Tensor, label: Int, classes: Int,
                         createGraph: Bool) -> [Tensor] {
        let theta = parameters.map { $0.requiresGradient ? $0 : $0.requiringGradient() }
        let labels = [Int](repeating: label, count: images.shape[0])
        return gradients(of: crossEntropy(classifier.logits(images, theta), labels: labels), wrt: theta, createGraph: createGraph)
    }

    /// The paper's layer-wise distance: for every weight tensor (rank ≥ 2) reshaped to
    /// [out, rest], Σ over output units of 1 − cos(a_row, b_row); biases contribute nothing.
    public static func distance(_ a: [Tensor], _ b: [Tensor]) -> Tensor {
        zip(a, b).filter { $0.0.rank >= 2 }.map { a, b in
            let rows = a.shape[0], rest = a.count / a.shape[0]
            let (x, y) = (a.reshaped([rows, rest]), b.reshaped([rows, rest]))
            let dot = (x * y).sum(alongAxes: [1])
            // The 1e-12 inside the roots keeps a zero row (a unit no image activates) from
            // making the root's derivative infinite; the 1e-6 is the paper's.
            let norms = sqrt((x * x).sum(alongAxes: [1]) + 1e-12) * sqrt((y * y).sum(alongAxes: [1]) + 1e-12)
            return (1 - dot / (norms + 1e-6)).sum()
        }.reduce(Tensor(0), +)
    }

    /// Cosine between two parameter lists taken as one flat vector each.
    public static func cosine(_ a: [Tensor], _ b: [Tensor]) -> Tensor {
        func total(_ terms: [Tensor]) -> Tensor { terms.dropFirst().reduce(terms[0], +) }
        let dot = total(zip(a, b).map { ($0 * $1).sum() })
        let norms = sqrt(total(a.map { ($0 * $0).sum() }) + 1e-12) * sqrt(total(b.map { ($0 * $0).sum() }) + 1e-12)
        return dot / norms
    }
}
