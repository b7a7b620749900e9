import Autodiff
import Networks

/// How batch normalization behaves in the victim's poisoned step. Evaluation always uses
/// the running statistics.
public enum BatchNormMode: String, Codable, Sendable, CaseIterable {
    /// Frozen running statistics, as a model in `model.eval()` fine-tunes.
    case eval
    /// The step's batch statistics, running statistics updated as PyTorch's
    /// `model.train()` does.
    case train
}

/// A classifier read from an ONNX file: the graph interpreted on Amnesia's core, its
/// initializers as parameters under their ONNX names, so every attack, defense and
/// evaluation runs on it as on a built-in architecture.
public struct OnnxClassifier: Classifier {
    public let name = "onnx"
    public let model: OnnxModel
    public let batchNorm: BatchNormMode

    public init(model: OnnxModel, batchNorm: BatchNormMode = .eval) {
        (self.model, self.batchNorm) = (model, batchNorm)
    }

    public var inputShape: [Int] { model.inputShape }
    public var classes: Int { model.classes }
    public var parameterSpecs: [ParameterSpec] { model.parameterSpecs }

    /// The logits with running statistics. The model's own dry run resolved every shape,
    /// so a failure here is an input of another shape: a programming error.
    public func logits(_ x: Tensor, _ parameters: [Tensor]) -> Tensor {
        run(x, parameters, training: false).logits
    }

    /// The input of the graph's final Gemm or MatMul, what feature-space detectors read;
    /// the logits themselves when the graph ends otherwise.
    public func features(_ x: Tensor, _ parameters: [Tensor]) -> Tensor {
        precondition(Array(x.shape.dropFirst()) == inputShape, "the ONNX model takes [N] + \(inputShape), got \(x.shape)")
        var interpreter = OnnxInterpreter(model: model, parameters: parameters, training: false)
        do {
            let logits = try interpreter.run(x).logits
            return model.featuresName.flatMap(interpreter.computed) ?? logits
        } catch { preconditionFailure(error.description) }
    }

    public func trainingForward(_ x: Tensor, _ parameters: [Tensor]) -> (logits: Tensor, parameters: [Tensor]) {
        guard batchNorm == .train else { return (logits(x, parameters), parameters) }
        let (logits, statistics) = run(x, parameters, training: true)
        var updated = parameters
        for (index, value) in statistics { updated[index] = value }
        return (logits, updated)
    }

    /// Fresh parameters as PyTorch initializes each layer type (Conv and Linear weights and
    /// biases by `scheme`, batch norm's scale and variance ones, shift and mean zeros);
    /// parameters of other ops keep the file's values.
    public func initialParameters(_ scheme: Initialization, using generator: inout SeededGenerator) -> [Tensor] {
        zip(model.roles, zip(model.parameterSpecs, model.fileParameters)).map { role, parameter in
            let (spec, stored) = parameter
            switch role {
            case let .weight(fanIn, fanOut): return scheme.weight(spec.shape, fanIn: fanIn, fanOut: fanOut, using: &generator)
            case let .bias(fanIn): return scheme.bias(spec.shape, fanIn: fanIn, using: &generator)
            case .ones: return .ones(spec.shape)
            case .zeros: return .zeros(spec.shape)
            case .kept: return stored
            }
        }
    }

    private func run(_ x: Tensor, _ parameters: [Tensor], training: Bool) -> (logits: Tensor, statistics: [Int: Tensor]) {
        precondition(Array(x.shape.dropFirst()) == inputShape, "the ONNX model takes [N] + \(inputShape), got \(x.shape)")
        var interpreter = OnnxInterpreter(model: model, parameters: parameters, training: training)
        do { return try interpreter.run(x) } catch { preconditionFailure(error.description) }
    }
}
