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
            switch self {
            case .pytorchDefault:
                let bound = 1 / Float(layerFanIn).squareRoot()
                return .randomUniform(spec.shape, low: -bound, high: bound, using: &generator)
            case .xavierNormal:
                if spec.isVector { return .zeros(spec.shape) }
                let std = (2 / Float(spec.fanIn + spec.fanOut)).squareRoot()
                return .randomNormal(spec.shape, std: std, using: &generator)
            }
        }
    }
}
