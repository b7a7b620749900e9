import Foundation

extension Tensor {
    /// A new storage holding `transform` of every element (no graph involvement).
    @inline(__always)
    func mapStorage(_ transform: (Float) -> Float) -> TensorStorage {
        let storage = TensorStorage(uninitializedCount: count)
        let source = buffer, out = storage.buffer
        for i in 0..<out.count { out[i] = transform(source[i]) }
        return storage
    }
}

/// e^x. Its VJP reuses the output: d/dx e^x = e^x.
public func exp(_ x: Tensor) -> Tensor {
    .result(x.mapStorage { Foundation.exp($0) }, shape: x.shape, inputs: [x], keepOutput: true) { c in
        [c.upstream * c.output]
    }
}

/// Natural logarithm.
public func log(_ x: Tensor) -> Tensor {
    .result(x.mapStorage { Foundation.log($0) }, shape: x.shape, inputs: [x]) { c in
        [c.upstream / x]
    }
}

/// Square root; its VJP reuses the output: d/dx √x = 1 / (2√x).
public func sqrt(_ x: Tensor) -> Tensor {
    .result(x.mapStorage { $0.squareRoot() }, shape: x.shape, inputs: [x], keepOutput: true) { c in
        [c.upstream * 0.5 / c.output]
    }
}

/// max(x, 0). The gradient mask is a constant: ReLU's second derivative is zero
/// almost everywhere.
public func relu(_ x: Tensor) -> Tensor {
    .result(x.mapStorage { max($0, 0) }, shape: x.shape, inputs: [x]) { c in
        [maskedWherePositive(c.upstream, x)]
    }
}

/// g · [x > 0], ReLU's VJP in one pass with no mask tensor. Linear in g and self-adjoint
/// there; constant in x (zero derivative almost everywhere).
func maskedWherePositive(_ g: Tensor, _ x: Tensor) -> Tensor {
    let storage = TensorStorage(uninitializedCount: g.count)
    let (upstream, mask, out) = (g.buffer, x.buffer, storage.buffer)
    for i in 0..<out.count { out[i] = upstream[i] * (mask[i] > 0 ? 1 : 0) }
    return .result(storage, shape: g.shape, inputs: [g]) { c in [maskedWherePositive(c.upstream, x)] }
}

/// The logistic function 1 / (1 + e^−x), computed without overflow for large |x|.
public func sigmoid(_ x: Tensor) -> Tensor {
    .result(x.mapStorage(stableSigmoid), shape: x.shape, inputs: [x], keepOutput: true) { c in
        [c.upstream * c.output * (1 - c.output)]
    }
}

/// log(1 + e^x), computed without overflow; its derivative is the sigmoid.
public func softplus(_ x: Tensor) -> Tensor {
    let storage = x.mapStorage { v in max(v, 0) + Foundation.log1p(Foundation.exp(-abs(v))) }
    return .result(storage, shape: x.shape, inputs: [x]) { c in
        [c.upstream * sigmoid(x)]
    }
}

@inline(__always)
func stableSigmoid(_ v: Float) -> Float {
    if v >= 0 { return 1 / (1 + Foundation.exp(-v)) }
    let e = Foundation.exp(v)
    return e / (1 + e)
}

/// The hyperbolic tangent, as 2·sigmoid(2x) − 1: exact, and its derivatives of every
/// order come from the sigmoid's.
public func tanh(_ x: Tensor) -> Tensor {
    2 * sigmoid(2 * x) - 1
}

/// x for x > 0, `slope`·x otherwise (PyTorch's `LeakyReLU`), as relu(x) − slope·relu(−x).
public func leakyRelu(_ x: Tensor, slope: Float) -> Tensor {
    relu(x) - slope * relu(-x)
}
