import Autodiff
import Networks

/// DP-SGD's update: every poison image's gradient is clipped to norm `clip` (over all
/// parameters), the clipped gradients are summed, Gaussian noise of standard deviation
/// `noise` × `clip` is added to every coordinate, and the step divides by the number of
/// images. The noise is drawn from `seed` and the victim's weights, so runs repeat.
public struct NoisyClippedStep: VictimUpdate {
    public let clip: Float
    public let noise: Float
    public let seed: UInt64

    public init(clip: Float, noise: Float, seed: UInt64) { (self.clip, self.noise, self.seed) = (clip, noise, seed) }

    public var key: String { DefenseSpec.dpSGD(clip: clip, noise: noise).key }
    public var description: String {
        "DP-SGD: per-image gradients clipped to norm \(clip), Gaussian noise of std \(noise) × \(clip) added to their sum."
    }

    public func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome {
        var rng = SeededGenerator(seed: seed ^ UInt64(parameters[0].scalars.prefix(4).reduce(0) { $0 &* 31 &+ UInt64($1.bitPattern) }))
        var theta = parameters
        for epoch in 0..<poison.epochs {
            for s in 0..<poison.steps {
                let (images, targets) = poison.step(s, classes: classifier.classes)
                let gradient = clippedNoisyGradient(theta, images: images, targets: targets, classifier: classifier, rng: &rng)
                let eta = poison.stepSizes[epoch * poison.steps + s]
                theta = GradientMode.withoutRecording { zip(theta, gradient).map { $0 - $1 * eta } }
            }
        }
        return UpdateOutcome(parameters: theta.map { $0.detached() })
    }

    /// (Σᵢ clip(gᵢ) + N(0, (noise·clip)²)) / n over the n images of one step.
    func clippedNoisyGradient(_ theta: [Tensor], images: Tensor, targets: Tensor, classifier: any Classifier,
                              rng: inout SeededGenerator) -> [Tensor] {
        let leaves = theta.map { $0.detached().requiringGradient() }
        let n = images.shape[0]
        var total = theta.map { Tensor.zeros($0.shape) }
        for i in 0..<n {
            let loss = crossEntropy(classifier.logits(images.rows([i]), leaves), targets: targets.rows([i]))
            let g = gradients(of: loss, wrt: leaves)
            let norm = g.reduce(Float(0)) { $0 + $1.scalars.reduce(0) { $0 + $1 * $1 } }.squareRoot()
            let scale = min(1, clip / max(norm, 1e-12))
            total = GradientMode.withoutRecording { zip(total, g).map { $0 + $1 * scale } }
        }
        return GradientMode.withoutRecording {
            total.map { t in (t + Tensor.randomNormal(t.shape, std: noise * clip, using: &rng)) * (1 / Float(n)) }
        }
    }
}
