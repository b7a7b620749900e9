import Autodiff
import Networks

/// The data of one inner step: images and their (possibly soft) targets.
public struct InnerStep: Sendable {
    public let images: Tensor
    /// [M, classes] rows summing to one (one-hot for fixed labels).
    public let targets: Tensor

    public init(images: Tensor, targets: Tensor) {
        self.images = images
        self.targets = targets
    }

    public init(images: Tensor, labels: [Int], classes: Int) {
        self.init(images: images, targets: .oneHot(labels, classes: classes))
    }
}

/// Trains `parameters` on `steps` for `epochs` epochs with plain gradient descent:
/// θ ← θ − η ∇θ ℓ(x̃, ỹ; θ), with step sizes `stepSizes[e·steps + s]`.
///
/// With `createGraph` every inner gradient stays in the graph, so a loss on the result
/// can be differentiated back to the images, the targets and the step sizes (the
/// bilevel meta-gradient); without it the result is a constant (evaluation).
public func unroll(_ classifier: any Classifier, from parameters: [Tensor], steps: [InnerStep],
                   stepSizes: [Tensor], epochs: Int, createGraph: Bool) -> [Tensor] {
    precondition(stepSizes.count == steps.count * epochs, "\(stepSizes.count) step sizes for \(steps.count) steps × \(epochs) epochs")
    var theta = parameters.map { $0.requiresGradient ? $0 : $0.requiringGradient() }
    for epoch in 0..<epochs {
        for (s, step) in steps.enumerated() {
            // The forward pass may itself move parameters (batch norm in train mode).
            let (logits, carried) = classifier.trainingForward(step.images, theta)
            let loss = crossEntropy(logits, targets: step.targets)
            let grads = gradients(of: loss, wrt: theta, createGraph: createGraph)
            let eta = stepSizes[epoch * steps.count + s]
            if createGraph {
                theta = zip(carried, grads).map { $0 - eta * $1 }
            } else {
                theta = GradientMode.withoutRecording { zip(carried, grads).map { $0 - eta * $1 } }
                    .map { $0.requiringGradient() }
            }
        }
    }
    return createGraph ? theta : theta.map { $0.detached() }
}
