import Foundation

/// log(softmax(x)) along the last axis of a matrix [N, K], computed stably.
/// VJP: g − softmax · Σg, with softmax = exp(output), so it stays differentiable.
public func logSoftmax(_ x: Tensor) -> Tensor {
    precondition(x.rank == 2, "logSoftmax expects [batch, classes], got \(x.shape)")
    let (rows, columns) = (x.shape[0], x.shape[1])
    let storage = TensorStorage(uninitializedCount: x.count)
    let source = x.buffer, out = storage.buffer
    for r in 0..<rows {
        let row = r * columns
        var peak = -Float.infinity
        for j in 0..<columns { peak = max(peak, source[row + j]) }
        var total: Float = 0
        for j in 0..<columns { total += Foundation.exp(source[row + j] - peak) }
        let shift = peak + Foundation.log(total)
        for j in 0..<columns { out[row + j] = source[row + j] - shift }
    }
    return .result(storage, shape: x.shape, inputs: [x], keepOutput: true) { c in
        [c.upstream - exp(c.output) * c.upstream.sum(alongAxes: [1], keepingDims: true)]
    }
}

/// Mean cross-entropy of `logits` [N, K] against soft targets [N, K] (rows summing to 1).
/// Differentiable in both arguments, so soft labels can be learned.
public func crossEntropy(_ logits: Tensor, targets: Tensor) -> Tensor {
    precondition(targets.shape == logits.shape, "targets \(targets.shape) must match logits \(logits.shape)")
    return -(logSoftmax(logits) * targets).sum() * (1 / Float(max(logits.shape[0], 1)))
}

/// Mean cross-entropy of `logits` [N, K] against integer class labels.
public func crossEntropy(_ logits: Tensor, labels: [Int]) -> Tensor {
    precondition(logits.rank == 2 && labels.count == logits.shape[0],
                 "\(labels.count) labels for logits of shape \(logits.shape)")
    return crossEntropy(logits, targets: .oneHot(labels, classes: logits.shape[1]))
}

extension Tensor {
    /// A constant [N, classes] matrix with a 1 at each label's column.
    public static func oneHot(_ labels: [Int], classes: Int) -> Tensor {
        Tensor(shape: [labels.count, classes]) { out in
            out.initialize(repeating: 0)
            for (row, label) in labels.enumerated() {
                precondition(label >= 0 && label < classes, "label \(label) is outside 0..<\(classes)")
                out[row * classes + label] = 1
            }
        }
    }
}
