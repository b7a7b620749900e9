import Autodiff
import Networks
import Specs

/// `dp_sgd: {clip: C, noise: S}`: DP-SGD. Adaptive form: every row's gradient is scaled by
/// min(1, C/‖gᵢ‖) (the factors computed at the current weights and held constant in the
/// meta-gradient) and Gaussian noise of std S·C, drawn anew every iteration and victim, is
/// added to their sum before ÷ n.
public struct DPSGDDefense: Defense, AdaptiveDefense {
    public static let name = "dp_sgd"
    public static let form = "dp_sgd:clip=C,noise=S"
    public let clip: Float
    public let noise: Float

    public init(clip: Float, noise: Float) { (self.clip, self.noise) = (clip, noise) }

    public init(parameters: DefenseParameters) throws(SpecError) {
        let v = try parameters.take(["clip", "noise"], form: Self.form)
        (clip, noise) = (try parameters.positive(v[0], "clip"), Float(v[1]))
    }

    public var parameters: [String: Float] { ["clip": clip, "noise": noise] }
    public func update(in environment: DefenseEnvironment) -> any VictimUpdate {
        NoisyClippedStep(clip: clip, noise: noise, seed: environment.seed)
    }
    public var adaptive: (any AdaptiveDefense)? { self }

    /// min(1, clip / ‖gᵢ‖) for every row, gᵢ the gradient of the row's loss over all parameters.
    public func rowFactors(_ images: Tensor, _ targets: Tensor, at theta: [Tensor], classifier: any Classifier) -> [Float]? {
        let leaves = theta.map { $0.detached().requiringGradient() }
        let (n, size, k) = (images.shape[0], images.count / max(images.shape[0], 1), targets.shape[1])
        let (pixels, labels) = (images.scalars, targets.scalars)
        return (0..<n).map { i in
            let x = Tensor(shape: [1] + images.shape.dropFirst(), scalars: Array(pixels[(i * size)..<((i + 1) * size)]))
            let t = Tensor(shape: [1, k], scalars: Array(labels[(i * k)..<((i + 1) * k)]))
            let g = gradients(of: crossEntropy(classifier.logits(x, leaves), targets: t), wrt: leaves)
            let norm = g.reduce(Float(0)) { $0 + $1.scalars.reduce(0) { $0 + $1 * $1 } }.squareRoot()
            return min(1, clip / max(norm, 1e-12))
        }
    }

    public func noisyGradients(_ gradients: [Tensor], rows: Int, using rng: inout SeededGenerator) -> [Tensor] {
        guard noise > 0 else { return gradients }
        return gradients.map { $0 + Tensor.randomNormal($0.shape, std: noise * clip / Float(rows), using: &rng) }
    }
}

extension DefenseSpec {
    /// DP-SGD: every image's gradient clipped to norm `clip`, Gaussian noise of standard
    /// deviation `noise` × `clip` added to their sum.
    public static func dpSGD(clip: Float, noise: Float) -> DefenseSpec { DefenseSpec(DPSGDDefense(clip: clip, noise: noise)) }
}

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
