import CKernels

/// 2-D convolution (cross-correlation, as in PyTorch) of an NCHW batch with OIHW weights.
///
/// Three ops close under differentiation: the convolution, its input gradient (a
/// transposed convolution) and its weight gradient. Each one's VJP is written with the
/// other two, so gradients of any order stay in the graph. `kernels` chooses the code
/// that computes them (the fastest by default; see `ConvolutionKernels`).
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                   kernels: ConvolutionKernels = .automatic) -> Tensor {
    precondition(weight.rank == 4, "conv2d weight must be [out, in, kh, kw], got \(weight.shape)")
    precondition(x.rank == 4 && x.shape[1] == weight.shape[1],
                 "conv2d input \(x.shape) does not have the \(weight.shape[1]) channels the weight \(weight.shape) expects")
    if let bias {
        precondition(bias.shape == [weight.shape[0]], "conv2d bias must be [\(weight.shape[0])], got \(bias.shape)")
    }
    let geometry = ConvGeometry(input: x.shape, kernelHeight: weight.shape[2], kernelWidth: weight.shape[3],
                                stride: stride, padding: padding)
    return convolve(x, weight, geometry, bias: bias, kernels: kernels)
}

/// Scratch space for one image's im2col columns and its zero-padded copy, alive for
/// one kernel call, each with the room `Kernels.im2col` may spill into.
private func withColumns<R>(_ g: ConvGeometry, _ body: (_ columns: UnsafeMutablePointer<Float>,
                                                       _ scratch: UnsafeMutablePointer<Float>) -> R) -> R {
    let columnCount = g.patchSize * g.spatial + Kernels.rowSlack
    let columns = UnsafeMutablePointer<Float>.allocate(capacity: columnCount + g.paddedImageSize + Kernels.rowSlack)
    defer { columns.deallocate() }
    return body(columns, columns + columnCount)
}

/// y = x ⋆ w (+ bias per channel), on the kernels `kernels` picks for the shape.
func convolve(_ x: Tensor, _ w: Tensor, _ g: ConvGeometry, bias: Tensor? = nil, kernels: ConvolutionKernels) -> Tensor {
    let outChannels = w.shape[0]
    let storage = switch kernels.path(for: g, outChannels: outChannels) {
    case .direct(let avx2): DirectConvolution.forward(x, w, g, bias: bias, avx2: avx2)
    case .lowered: loweredConvolution(x, w, g, bias: bias)
    }
    let shape = [g.batch, outChannels, g.outputHeight, g.outputWidth]
    return .result(storage, shape: shape, inputs: [x, w] + (bias.map { [$0] } ?? [])) { c in
        [c.needs[0] ? convolveInputGradient(c.upstream, w, g, kernels: kernels) : nil,
         c.needs[1] ? convolveWeightGradient(x, c.upstream, g, kernels: kernels) : nil]
            + (bias == nil ? [] : [c.needs[2] ? c.upstream.sum(alongAxes: [0, 2, 3]) : nil])
    }
}

/// The convolution as one GEMM per image on its im2col columns, which stay cache-sized,
/// written into that image's [O, Ho·Wo] output block in place (the bias is the GEMM's
/// starting value, so it costs no extra pass).
private func loweredConvolution(_ x: Tensor, _ w: Tensor, _ g: ConvGeometry, bias: Tensor?) -> TensorStorage {
    let (outChannels, spatial) = (w.shape[0], g.spatial)
    let block = outChannels * spatial
    let storage = TensorStorage(uninitializedCount: g.batch * block)
    let (input, weights, out) = (x.buffer.baseAddress!, w.buffer.baseAddress!, storage.buffer.baseAddress!)
    let biases = bias?.scalars
    withColumns(g) { columns, scratch in
        for n in 0..<g.batch {
            let y = out + n * block
            if let biases {
                for o in 0..<outChannels { (y + o * spatial).update(repeating: biases[o], count: spatial) }
            }
            Kernels.im2col(image: input + n * g.imageSize, g, into: columns, scratch: scratch)
            Kernels.gemm(transposeA: false, transposeB: false, m: outChannels, n: spatial, k: g.patchSize,
                         weights, UnsafePointer(columns), y, beta: biases == nil ? 0 : 1)
        }
    }
    return storage
}

/// The gradient of ⟨gy, x ⋆ w⟩ with respect to x: a transposed convolution of the
/// output gradient `gy` [N, O, Ho, Wo] with `w`, shaped like the input of `g`.
func convolveInputGradient(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry, kernels: ConvolutionKernels) -> Tensor {
    let storage = switch kernels.path(for: g, outChannels: w.shape[0]) {
    case .direct(let avx2): DirectConvolution.inputGradient(gy, w, g, avx2: avx2)
    case .lowered: loweredInputGradient(gy, w, g)
    }
    return .result(storage, shape: g.inputShape, inputs: [gy, w]) { c in
        [c.needs[0] ? convolve(c.upstream, w, g, kernels: kernels) : nil,
         c.needs[1] ? convolveWeightGradient(c.upstream, gy, g, kernels: kernels) : nil]
    }
}

/// The input gradient as one GEMM per image into im2col columns, added back by col2im.
private func loweredInputGradient(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry) -> TensorStorage {
    let outChannels = w.shape[0]
    let block = outChannels * g.spatial
    let storage = TensorStorage(repeating: 0, count: g.batch * g.imageSize)
    let (upstream, weights, out) = (gy.buffer.baseAddress!, w.buffer.baseAddress!, storage.buffer.baseAddress!)
    withColumns(g) { columns, scratch in
        for n in 0..<g.batch {
            Kernels.gemm(transposeA: true, transposeB: false, m: g.patchSize, n: g.spatial, k: outChannels,
                         weights, upstream + n * block, columns)
            Kernels.col2im(columns, g, addingInto: out + n * g.imageSize, scratch: scratch)
        }
    }
    return storage
}

/// The gradient of ⟨gy, x ⋆ w⟩ with respect to w: the correlation of the input with
/// the output gradient, shaped [O, C, kh, kw], accumulated image by image.
func convolveWeightGradient(_ x: Tensor, _ gy: Tensor, _ g: ConvGeometry, kernels: ConvolutionKernels) -> Tensor {
    let outChannels = gy.shape[1]
    let storage = switch kernels.path(for: g, outChannels: outChannels) {
    case .direct(let avx2): DirectConvolution.weightGradient(x, gy, g, avx2: avx2)
    case .lowered: loweredWeightGradient(x, gy, g)
    }
    let shape = [outChannels, g.channels, g.kernelHeight, g.kernelWidth]
    return .result(storage, shape: shape, inputs: [x, gy]) { c in
        [c.needs[0] ? convolveInputGradient(gy, c.upstream, g, kernels: kernels) : nil,
         c.needs[1] ? convolve(x, c.upstream, g, kernels: kernels) : nil]
    }
}

/// The weight gradient as one GEMM per image against its im2col columns.
private func loweredWeightGradient(_ x: Tensor, _ gy: Tensor, _ g: ConvGeometry) -> TensorStorage {
    let outChannels = gy.shape[1]
    let block = outChannels * g.spatial
    let storage = TensorStorage(uninitializedCount: outChannels * g.patchSize)
    let (input, upstream, out) = (x.buffer.baseAddress!, gy.buffer.baseAddress!, storage.buffer.baseAddress!)
    if g.batch == 0 { storage.buffer.update(repeating: 0) }
    withColumns(g) { columns, scratch in
        for n in 0..<g.batch {
            Kernels.im2col(image: input + n * g.imageSize, g, into: columns, scratch: scratch)
            Kernels.gemm(transposeA: false, transposeB: true, m: outChannels, n: g.patchSize, k: g.spatial,
                         upstream + n * block, UnsafePointer(columns), out, beta: n == 0 ? 0 : 1)
        }
    }
    return storage
}
