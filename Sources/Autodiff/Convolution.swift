/// 2-D convolution (cross-correlation, as in PyTorch) of an NCHW batch with OIHW weights.
///
/// Three ops close under differentiation: the convolution, its input gradient (a
/// transposed convolution) and its weight gradient. Each one's VJP is written with the
/// other two, so gradients of any order stay in the graph.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
    precondition(weight.rank == 4, "conv2d weight must be [out, in, kh, kw], got \(weight.shape)")
    precondition(x.rank == 4 && x.shape[1] == weight.shape[1],
                 "conv2d input \(x.shape) does not have the \(weight.shape[1]) channels the weight \(weight.shape) expects")
    let geometry = ConvGeometry(input: x.shape, kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
                                stride: stride, padding: padding)
    let y = convolve(x, weight, geometry)
    guard let bias else { return y }
    precondition(bias.shape == [weight.shape[0]], "conv2d bias must be [\(weight.shape[0])], got \(bias.shape)")
    return y + bias.reshaped([1, weight.shape[0], 1, 1])
}

/// y = x ⋆ w, via im2col and one GEMM over every output position of the batch.
func convolve(_ x: Tensor, _ w: Tensor, _ g: ConvGeometry) -> Tensor {
    let outChannels = w.shape[0]
    let cols = Kernels.im2col(x.buffer, g)
    let product = TensorStorage(uninitializedCount: outChannels * g.positions)
    Kernels.gemm(transposeA: false, transposeB: false, m: outChannels, n: g.positions, k: g.patchSize,
                 w.buffer.baseAddress!, UnsafePointer(cols.buffer.baseAddress!), product.buffer.baseAddress!)
    let spatial = g.outputHeight * g.outputWidth
    let storage = Kernels.swapLeadingAxes(UnsafeBufferPointer(product.buffer), outChannels, g.batch, spatial)
    let shape = [g.batch, outChannels, g.outputHeight, g.outputWidth]
    // The columns are kept for the weight gradient, which needs exactly them again.
    return .result(storage, shape: shape, inputs: [x, w]) { c in
        [c.needs[0] ? convolveInputGradient(c.upstream, w, g) : nil,
         c.needs[1] ? convolveWeightGradient(x, c.upstream, g, columns: cols) : nil]
    }
}

/// The gradient of ⟨gy, x ⋆ w⟩ with respect to x: a transposed convolution of the
/// output gradient `gy` [N, O, Ho, Wo] with `w`, shaped like the input of `g`.
func convolveInputGradient(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry) -> Tensor {
    let outChannels = w.shape[0]
    let spatial = g.outputHeight * g.outputWidth
    let gradient = Kernels.swapLeadingAxes(gy.buffer, g.batch, outChannels, spatial)
    let cols = TensorStorage(uninitializedCount: g.patchSize * g.positions)
    Kernels.gemm(transposeA: true, transposeB: false, m: g.patchSize, n: g.positions, k: outChannels,
                 w.buffer.baseAddress!, UnsafePointer(gradient.buffer.baseAddress!), cols.buffer.baseAddress!)
    let storage = Kernels.col2im(UnsafeBufferPointer(cols.buffer), g)
    return .result(storage, shape: g.inputShape, inputs: [gy, w]) { c in
        [c.needs[0] ? convolve(c.upstream, w, g) : nil,
         c.needs[1] ? convolveWeightGradient(c.upstream, gy, g) : nil]
    }
}

/// The gradient of ⟨gy, x ⋆ w⟩ with respect to w: the correlation of the input with
/// the output gradient, shaped [O, C, kh, kw]. `columns`, if given, is `im2col(x)`.
func convolveWeightGradient(_ x: Tensor, _ gy: Tensor, _ g: ConvGeometry, columns: TensorStorage? = nil) -> Tensor {
    let outChannels = gy.shape[1]
    let spatial = g.outputHeight * g.outputWidth
    let gradient = Kernels.swapLeadingAxes(gy.buffer, g.batch, outChannels, spatial)
    let cols = columns ?? Kernels.im2col(x.buffer, g)
    let storage = TensorStorage(uninitializedCount: outChannels * g.patchSize)
    Kernels.gemm(transposeA: false, transposeB: true, m: outChannels, n: g.patchSize, k: g.positions,
                 UnsafePointer(gradient.buffer.baseAddress!), UnsafePointer(cols.buffer.baseAddress!),
                 storage.buffer.baseAddress!)
    let shape = [outChannels, g.channels, g.kernelHeight, g.kernelWidth]
    return .result(storage, shape: shape, inputs: [x, gy]) { c in
        [c.needs[0] ? convolveInputGradient(gy, c.upstream, g) : nil,
         c.needs[1] ? convolve(x, c.upstream, g) : nil]
    }
}
