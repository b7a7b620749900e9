import Autodiff

/// A named parameter tensor, in PyTorch `state_dict` naming and layout (conv OIHW,
/// linear [out, in]), so weights trained elsewhere can be imported unchanged.
public struct ParameterSpec: Hashable, Sendable, Codable {
    public let name: String
    public let shape: [Int]

    public init(_ name: String, _ shape: [Int]) {
        self.name = name
        self.shape = shape
    }

    /// Inputs feeding one output unit: what PyTorch's initializers scale by.
    var fanIn: Int { shape.dropFirst().reduce(1, *) }
    var fanOut: Int { shape.count > 1 ? shape[0] * shape.dropFirst(2).reduce(1, *) : shape.first ?? 1 }
    var isVector: Bool { shape.count == 1 }
}

/// A classifier written as a pure function of an explicit parameter list, so any
/// parameters (a victim's, or a victim's after a differentiable gradient step) can be
/// plugged in.
public protocol Classifier: Sendable {
    /// The architecture's short name (`lenet`, `mlp`, `convnet`).
    var name: String { get }
    /// The expected input [channels, height, width].
    var inputShape: [Int] { get }
    var classes: Int { get }
    /// The parameters, in the order `logits` takes them.
    var parameterSpecs: [ParameterSpec] { get }
    /// Logits [N, classes] for inputs [N, C, H, W].
    func logits(_ x: Tensor, _ parameters: [Tensor]) -> Tensor
    /// Penultimate activations [N, D]: what the final linear layer (the last two
    /// parameters) maps to logits. Feature-space defenses inspect these.
    func features(_ x: Tensor, _ parameters: [Tensor]) -> Tensor
    /// The forward pass of a training step, as PyTorch's `model.train()` runs it, and the
    /// parameters that pass itself changes (batch normalization's running statistics);
    /// the step's gradient is then applied to those. Without such layers: `logits`, and
    /// the parameters unchanged.
    func trainingForward(_ x: Tensor, _ parameters: [Tensor]) -> (logits: Tensor, parameters: [Tensor])
    /// Fresh parameters drawn from `scheme`, deterministic for a given generator.
    func initialParameters(_ scheme: Initialization, using generator: inout SeededGenerator) -> [Tensor]
}

extension Classifier {
    /// The final linear layer on `features`: every built-in architecture ends with one.
    public func logits(_ x: Tensor, _ parameters: [Tensor]) -> Tensor {
        linear(features(x, parameters), weight: parameters[parameters.count - 2], bias: parameters[parameters.count - 1])
    }

    public func trainingForward(_ x: Tensor, _ parameters: [Tensor]) -> (logits: Tensor, parameters: [Tensor]) {
        (logits(x, parameters), parameters)
    }

    /// Parameters drawn from `scheme` by their specs' shapes and names (see
    /// `Initialization.draw`), deterministic for a given generator.
    public func initialParameters(_ scheme: Initialization = .pytorchDefault, using generator: inout SeededGenerator) -> [Tensor] {
        scheme.draw(parameterSpecs, using: &generator)
    }

    /// Predicted classes for a batch, without recording a graph.
    public func predictions(_ x: Tensor, _ parameters: [Tensor]) -> [Int] {
        let scores = GradientMode.withoutRecording { logits(x, parameters) }
        let k = scores.shape[1]
        return (0..<scores.shape[0]).map { row in
            var best = 0
            for j in 1..<k where scores.buffer[row * k + j] > scores.buffer[row * k + best] { best = j }
            return best
        }
    }

    /// The number of scalar parameters.
    public var parameterCount: Int { parameterSpecs.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// Checks that `parameters` match the specs in count and shape.
    public func validate(_ parameters: [Tensor]) throws(NetworkError) {
        guard parameters.count == parameterSpecs.count else {
            throw .parameterCount(expected: parameterSpecs.count, got: parameters.count, architecture: name)
        }
        for (spec, tensor) in zip(parameterSpecs, parameters) where spec.shape != tensor.shape {
            throw .shape(name: spec.name, expected: spec.shape, got: tensor.shape)
        }
    }
}

/// Errors from building or applying a network.
public enum NetworkError: Error, CustomStringConvertible, Equatable {
    case parameterCount(expected: Int, got: Int, architecture: String)
    case shape(name: String, expected: [Int], got: [Int])
    case unknownArchitecture(String)
    case unsupportedInput(architecture: String, shape: [Int], reason: String)

    public var description: String {
        switch self {
        case let .parameterCount(expected, got, architecture):
            "\(architecture) takes \(expected) parameter tensors, got \(got)"
        case let .shape(name, expected, got):
            "parameter '\(name)' must have shape \(expected), got \(got)"
        case let .unknownArchitecture(name):
            "unknown architecture '\(name)'; choose one of: \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))"
        case let .unsupportedInput(architecture, shape, reason):
            "\(architecture) cannot take inputs of shape \(shape): \(reason)"
        }
    }
}
