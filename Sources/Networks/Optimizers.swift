import Autodiff
import Foundation

/// A first-order optimizer over a parameter list. Updates happen outside the graph:
/// the returned parameters are constants.
public protocol Optimizer: Sendable {
    /// The parameters after one update with `gradients`.
    mutating func step(_ parameters: [Tensor], _ gradients: [Tensor]) -> [Tensor]
    /// The step size, adjustable by schedules.
    var learningRate: Float { get set }
}

/// Stochastic gradient descent with optional momentum and L2 weight decay, in PyTorch's
/// formulation: v ← μv + (g + λθ); θ ← θ − lr·v.
public struct SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let weightDecay: Float
    private var velocity: [[Float]] = []

    public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    public mutating func step(_ parameters: [Tensor], _ gradients: [Tensor]) -> [Tensor] {
        if velocity.isEmpty && momentum != 0 { velocity = parameters.map { [Float](repeating: 0, count: $0.count) } }
        return parameters.indices.map { i in
            let theta = parameters[i].buffer, g = gradients[i].buffer
            let (lr, mu, decay, useMomentum) = (learningRate, momentum, weightDecay, momentum != 0)
            return velocity.isEmpty
                ? Tensor(shape: parameters[i].shape) { out in
                    for j in 0..<out.count { out[j] = theta[j] - lr * (g[j] + decay * theta[j]) }
                }
                : velocity[i].withUnsafeMutableBufferPointer { v in
                    Tensor(shape: parameters[i].shape) { out in
                        for j in 0..<out.count {
                            let d = g[j] + decay * theta[j]
                            v[j] = useMomentum ? mu * v[j] + d : d
                            out[j] = theta[j] - lr * v[j]
                        }
                    }
                }
        }
    }
}

/// Adam (Kingma & Ba) with bias correction.
public struct Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float
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

    public init(learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    public mutating func step(_ parameters: [Tensor], _ gradients: [Tensor]) -> [Tensor] {
        if first.isEmpty {
            first = parameters.map { [Float](repeating: 0, count: $0.count) }
            second = first
        }
        steps += 1
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        let size = learningRate * Float((1 - Foundation.pow(Double(b2), Double(steps))).squareRoot()
                                        / (1 - Foundation.pow(Double(b1), Double(steps))))
        return parameters.indices.map { i in
            let theta = parameters[i].buffer, g = gradients[i].buffer
            return first[i].withUnsafeMutableBufferPointer { m in
                second[i].withUnsafeMutableBufferPointer { v in
                    Tensor(shape: parameters[i].shape) { out in
                        for j in 0..<out.count {
                            m[j] = b1 * m[j] + (1 - b1) * g[j]
                            v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j]
                            out[j] = theta[j] - size * m[j] / (v[j].squareRoot() + eps)
                        }
                    }
                }
            }
        }
    }
}
