import Autodiff

/// How fresh parameters are drawn.
public enum Initialization: String, Codable, Sendable, CaseIterable {
    /// PyTorch's defaults for Linear and Conv2d: weights and biases uniform in
    /// ±1/√fan_in of the layer (kaiming-uniform with a = √5 reduces to this bound).
    case pytorchDefault = "pytorch"
    /// Xavier-normal weights (std √(2 / (fan_in + fan_out))) and zero biases, as in
    /// Dataset Distillation.
    case xavierNormal = "xavier"

    /// Parameters for `specs` in order. A bias takes the fan-in of the weight matrix
    /// before it; a 1-D weight is a normalization scale (ones) and its bias a shift (zeros).
    func draw(_ specs: [ParameterSpec], using generator: inout SeededGenerator) -> [Tensor] {
        var layerFanIn = 1
        var afterNormScale = false
        return specs.map { spec in
            defer { afterNormScale = spec.isVector && spec.name.hasSuffix(".weight") }
            if !spec.isVector { layerFanIn = spec.fanIn }
            if spec.isVector && spec.name.hasSuffix(".weight") { return .ones(spec.shape) }
            if spec.isVector && afterNormScale { return .zeros(spec.shape) }
            return spec.isVector ? bias(spec.shape, fanIn: layerFanIn, using: &generator)
                : weight(spec.shape, fanIn: spec.fanIn, fanOut: spec.fanOut, using: &generator)
        }
    }

    /// A convolution or linear weight whose layer has `fanIn` inputs and `fanOut`
    /// outputs per unit.
    public func weight(_ shape: [Int], fanIn: Int, fanOut: Int, using generator: inout SeededGenerator) -> Tensor {
        switch self {
        case .pytorchDefault: bias(shape, fanIn: fanIn, using: &generator)
        case .xavierNormal: .randomNormal(shape, std: (2 / Float(fanIn + fanOut)).squareRoot(), using: &generator)
        }
    }

    /// The bias of a layer with `fanIn` inputs per unit.
    public func bias(_ shape: [Int], fanIn: Int, using generator: inout SeededGenerator) -> Tensor {
        switch self {
        case .pytorchDefault:
            let bound = 1 / Float(max(fanIn, 1)).squareRoot()
            return .randomUniform(shape, low: -bound, high: bound, using: &generator)
        case .xavierNormal:
            return .zeros(shape)
        }
    }
}
