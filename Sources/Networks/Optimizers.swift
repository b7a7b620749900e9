import Autodiff
import Foundation

/// A first-order optimizer over a parameter list. Updates happen outside the graph:
/// the returned parameters are constants.
public protocol Optimizer: Sendable {
    /// The parameters after one update with `gradients`.
    mutating func step(_ parameters: [Tensor], _ gradients: [Tensor]) -> [Tensor]
    /// The step size, adjustable by schedules.
    var learningRate: Float { get set }
    /// The weight of the running gradient average: SGD's momentum, Adam's β1. One-cycle
    /// schedules move it against the learning rate (as PyTorch's OneCycleLR does).
    var momentum: Float { get set }
}

/// Stochastic gradient descent with optional momentum (classical or Nesterov) and L2
/// weight decay, in PyTorch's formulation: d = g + λθ; v ← μv + d;
/// θ ← θ − lr·v, or θ ← θ − lr·(d + μv) with Nesterov.
public struct SGD: Optimizer {
    public var learningRate: Float
    public var momentum: Float
    public let weightDecay: Float
    public let nesterov: Bool
    private var velocity: [[Float]] = []

    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public mutating func step(_ parameters: [Tensor], _ gradients: [Tensor]) -> [Tensor] {
        if velocity.isEmpty && momentum != 0 { velocity = parameters.map { [Float](repeating: 0, count: $0.count) } }
        return parameters.indices.map { i in
            let theta = parameters[i].buffer, g = gradients[i].buffer
            let (lr, mu, decay, useMomentum, nesterov) = (learningRate, momentum, weightDecay, momentum != 0, nesterov)
            return velocity.isEmpty
                ? Tensor(shape: parameters[i].shape) { out in
                    for j in 0..<out.count { out[j] = theta[j] - lr * (g[j] + decay * theta[j]) }
                }
                : velocity[i].withUnsafeMutableBufferPointer { v in
                    Tensor(shape: parameters[i].shape) { out in
                        for j in 0..<out.count {
                            let d = g[j] + decay * theta[j]
                            v[j] = useMomentum ? mu * v[j] + d : d
                            out[j] = theta[j] - lr * (nesterov ? d + mu * v[j] : v[j])
                        }
                    }
                }
        }
    }
}

/// Adam (Kingma & Ba) with bias correction, and optional L2 weight decay added to the
/// gradient as PyTorch's `Adam(weight_decay:)` does. By default ε is added to √v before
/// the bias correction (the paper's efficient form, which crafting has always used);
/// `pytorchEpsilon` adds it after, as PyTorch does: the two differ by a few percent of
/// the step for gradients near 1e-4 and below, so victims trained "as in PyTorch" use it.
public struct Adam: Optimizer {
    public var learningRate: Float
    public var beta1: Float
    public let beta2: Float, epsilon: Float
    public let weightDecay: Float
    public let pytorchEpsilon: Bool
    private var first: [[Float]] = [], second: [[Float]] = []
    private var steps = 0

    /// The moment estimates and step count, for checkpoints.
    public struct State: Sendable, Equatable {
        public var first: [[Float]], second: [[Float]], steps: Int
        public init(first: [[Float]], second: [[Float]], steps: Int) {
            (self.first, self.second, self.steps) = (first, second, steps)
        }
    }

    public var state: State {
        get { State(first: first, second: second, steps: steps) }
        set { (first, second, steps) = (newValue.first, newValue.second, newValue.steps) }
    }

    public var momentum: Float {
        get { beta1 }
        set { beta1 = newValue }
    }

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, pytorchEpsilon: Bool = false) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.pytorchEpsilon = pytorchEpsilon
    }

    public mutating func step(_ parameters: [Tensor], _ gradients: [Tensor]) -> [Tensor] {
        if first.isEmpty {
            first = parameters.map { [Float](repeating: 0, count: $0.count) }
            second = first
        }
        steps += 1
        let (b1, b2, decay) = (beta1, beta2, weightDecay)
        let correction2 = (1 - Foundation.pow(Double(b2), Double(steps))).squareRoot()
        let size = learningRate * Float(correction2 / (1 - Foundation.pow(Double(b1), Double(steps))))
        // size·m/(√v + ε√(1−β2ᵗ)) = lr/(1−β1ᵗ)·m/(√v̂ + ε): PyTorch's denominator.
        let eps = pytorchEpsilon ? Float(Double(epsilon) * correction2) : epsilon
        return parameters.indices.map { i in
            let theta = parameters[i].buffer, g = gradients[i].buffer
            return first[i].withUnsafeMutableBufferPointer { m in
                second[i].withUnsafeMutableBufferPointer { v in
                    Tensor(shape: parameters[i].shape) { out in
                        for j in 0..<out.count {
                            let d = g[j] + decay * theta[j]
                            m[j] = b1 * m[j] + (1 - b1) * d
                            v[j] = b2 * v[j] + (1 - b2) * d * d
                            out[j] = theta[j] - size * m[j] / (v[j].squareRoot() + eps)
                        }
                    }
                }
            }
        }
    }
}

/// AdamW (Loshchilov & Hutter): Adam with weight decay decoupled from the gradient, as
/// PyTorch's `AdamW`: θ ← θ·(1 − lr·λ), then Adam's update (ε placed as PyTorch does)
/// with the raw gradient.
public struct AdamW: Optimizer {
    private var adam: Adam
    public let weightDecay: Float

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        adam = Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, pytorchEpsilon: true)
        self.weightDecay = weightDecay
    }

    public var learningRate: Float {
        get { adam.learningRate }
        set { adam.learningRate = newValue }
    }

    public var momentum: Float {
        get { adam.beta1 }
        set { adam.beta1 = newValue }
    }

    public mutating func step(_ parameters: [Tensor], _ gradients: [Tensor]) -> [Tensor] {
        let keep = 1 - learningRate * weightDecay
        let decayed = parameters.map { p in
            let theta = p.buffer
            return Tensor(shape: p.shape) { out in
                for j in 0..<out.count { out[j] = theta[j] * keep }
            }
        }
        return adam.step(decayed, gradients)
    }
}
