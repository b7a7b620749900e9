/// Batch normalization over axis 1 (the channels) of an [N, C, …] batch, as PyTorch's
/// `BatchNorm1d/2d` and ONNX's `BatchNormalization`, built from differentiable ops so
/// that both modes differentiate to every order.

/// Evaluation mode: normalizes with given (running) statistics, each [C].
public func batchNorm(_ x: Tensor, scale: Tensor, shift: Tensor, mean: Tensor, variance: Tensor, epsilon: Float) -> Tensor {
    let channels = channelShape(x)
    let factor = (scale / sqrt(variance + epsilon)).reshaped(channels)
    return (x - mean.reshaped(channels)) * factor + shift.reshaped(channels)
}

/// Training mode: normalizes with the batch's own statistics and returns them, the mean
/// and the biased variance, each [C] (what a caller needs to update running statistics).
public func batchNormTraining(_ x: Tensor, scale: Tensor, shift: Tensor, epsilon: Float)
    -> (output: Tensor, mean: Tensor, variance: Tensor) {
    let axes = [0] + Array(2..<x.rank)
    let channels = channelShape(x)
    let mean = x.mean(alongAxes: axes, keepingDims: true)
    let centered = x - mean
    let variance = (centered * centered).mean(alongAxes: axes, keepingDims: true)
    let output = centered / sqrt(variance + epsilon) * scale.reshaped(channels) + shift.reshaped(channels)
    return (output, mean.reshaped([x.shape[1]]), variance.reshaped([x.shape[1]]))
}

/// [1, C, 1, …]: a per-channel vector's shape for broadcasting against `x`.
private func channelShape(_ x: Tensor) -> [Int] {
    precondition(x.rank >= 2, "batch normalization needs [N, C, …], got \(x.shape)")
    return [1, x.shape[1]] + Array(repeating: 1, count: x.rank - 2)
}
