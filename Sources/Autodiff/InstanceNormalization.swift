/// Normalizes each (image, channel) plane of an NCHW batch to zero mean and unit
/// variance, then applies a per-channel affine map, as `GroupNorm(C, C, affine: true)`:
/// y = x̂·scale + shift. Fused: a ConvNet-3 step spent more time in this layer written
/// with elementwise ops (nine full-size passes and temporaries forward, about twenty
/// backward) than in anything but its GEMMs. Forward it is two passes; a first-order
/// backward is one pass of sums (which also give the scale's and shift's gradients) and
/// one of writes. A recorded backward (for second order) is written in differentiable
/// ops, through `standardizedPlanes`.
public func instanceNorm(_ x: Tensor, scale: Tensor, shift: Tensor, epsilon: Float = 1e-5) -> Tensor {
    precondition(x.rank == 4 && scale.shape == [x.shape[1]] && shift.shape == [x.shape[1]],
                 "instanceNorm needs an NCHW batch and a scale and shift per channel, got \(x.shape), \(scale.shape), \(shift.shape)")
    let (channels, size) = (x.shape[1], x.shape[2] * x.shape[3])
    let (normalized, inverses) = standardize(x, epsilon: epsilon)
    let storage = TensorStorage(uninitializedCount: x.count)
    let (xhat, out, gamma, beta) = (normalized.buffer.baseAddress!, storage.buffer.baseAddress!, scale.buffer, shift.buffer)
    for p in 0..<(x.shape[0] * channels) {
        let (a, b, offset) = (gamma[p % channels], beta[p % channels], p * size)
        for i in offset..<(offset + size) { out[i] = xhat[i] * a + b }
    }
    return .result(storage, shape: x.shape, inputs: [x, scale, shift]) { c in
        let g = c.upstream
        guard !GradientMode.isRecording else {
            let xhat = standardizedPlanes(x, epsilon: epsilon)
            return [c.needs[0] ? standardizedPlanesGradient(g * scale.reshaped([1, channels, 1, 1]), xhat,
                                                            inverseStandardDeviation(x, epsilon: epsilon)) : nil,
                    c.needs[1] ? (g * xhat).sum(alongAxes: [0, 2, 3]) : nil,
                    c.needs[2] ? g.sum(alongAxes: [0, 2, 3]) : nil]
        }
        let (dx, dScale, dShift) = instanceNormGradients(g, xhat: normalized, inverses: inverses, scale: scale)
        return [dx, dScale, dShift]
    }
}

/// The first-order gradients of `instanceNorm` for upstream `g`, from its saved x̂ and
/// inverse standard deviations: per plane the sums Σg and Σg·x̂ give the shift's and
/// scale's gradients and, with r·scale, the input's r·scale·(g − mean(g) − x̂·mean(g·x̂)).
private func instanceNormGradients(_ g: Tensor, xhat normalized: TensorStorage, inverses: TensorStorage,
                                   scale: Tensor) -> (Tensor, Tensor, Tensor) {
    let channels = g.shape[1]
    let (input, dScale, dShift) = (TensorStorage(uninitializedCount: g.count), TensorStorage(repeating: 0, count: channels),
                                   TensorStorage(repeating: 0, count: channels))
    let (r, gamma) = (inverses.buffer, scale.buffer)
    planeGradients(g, normalized.buffer.baseAddress!, into: input) { p, sumG, sumGX in
        dShift.buffer[p % channels] += sumG
        dScale.buffer[p % channels] += sumGX
        return r[p] * gamma[p % channels]
    }
    return (Tensor(storage: input, shape: g.shape), Tensor(storage: dScale, shape: [channels]),
            Tensor(storage: dShift, shape: [channels]))
}

/// x̂ of every plane of `x` and its inverse standard deviation 1/√(σ² + ε), in two passes.
private func standardize(_ x: Tensor, epsilon: Float) -> (normalized: TensorStorage, inverses: TensorStorage) {
    let (planes, size) = (x.shape[0] * x.shape[1], x.shape[2] * x.shape[3])
    let storage = TensorStorage(uninitializedCount: x.count)
    let inverses = TensorStorage(uninitializedCount: planes)
    let (source, out, inverse) = (x.buffer.baseAddress!, storage.buffer.baseAddress!, inverses.buffer.baseAddress!)
    let scale = 1 / Float(max(size, 1))
    for p in 0..<planes {
        let (plane, target) = (source + p * size, out + p * size)
        let mean = Kernels.sum(plane, count: size) * scale
        for i in 0..<size { target[i] = plane[i] - mean }
        let r = 1 / (Kernels.dot(target, target, count: size) * scale + epsilon).squareRoot()
        for i in 0..<size { target[i] *= r }
        inverse[p] = r
    }
    return (storage, inverses)
}

/// Instance normalization's core: every (image, channel) plane of an NCHW batch
/// standardized to zero mean and unit (biased) variance, x̂ = (x − μ) / √(σ² + ε), in
/// two passes. Its VJP is `standardizedPlanesGradient`, an op whose own VJP is written in
/// differentiable ops, so derivatives of every order stay exact.
public func standardizedPlanes(_ x: Tensor, epsilon: Float) -> Tensor {
    precondition(x.rank == 4, "standardizedPlanes needs an NCHW batch, got \(x.shape)")
    let (storage, inverses) = standardize(x, epsilon: epsilon)
    let statistics = [x.shape[0], x.shape[1], 1, 1]
    return .result(storage, shape: x.shape, inputs: [x], keepOutput: true) { c in
        // 1/√(σ² + ε) as a function of x when this VJP is itself recorded; else the saved one.
        let r = GradientMode.isRecording ? inverseStandardDeviation(x, epsilon: epsilon)
                                         : Tensor(storage: inverses, shape: statistics)
        return [standardizedPlanesGradient(c.upstream, c.output, r)]
    }
}

/// 1/√(σ² + ε) of each plane, [N, C, 1, 1], in differentiable ops.
private func inverseStandardDeviation(_ x: Tensor, epsilon: Float) -> Tensor {
    let centered = x - x.mean(alongAxes: [2, 3], keepingDims: true)
    return 1 / sqrt((centered * centered).mean(alongAxes: [2, 3], keepingDims: true) + epsilon)
}

/// The VJP of `standardizedPlanes` for upstream gradient `g`, given its output `xhat` and
/// inverse standard deviations `r` [N, C, 1, 1]: per plane r·(g − mean(g) − x̂·mean(g·x̂)),
/// in two passes. Linear and self-adjoint in `g`; its other derivatives are composed.
func standardizedPlanesGradient(_ g: Tensor, _ xhat: Tensor, _ r: Tensor) -> Tensor {
    let storage = TensorStorage(uninitializedCount: g.count)
    let inverse = r.buffer
    planeGradients(g, xhat.buffer.baseAddress!, into: storage) { p, _, _ in inverse[p] }
    return .result(storage, shape: g.shape, inputs: [g, xhat, r]) { c in
        let u = c.upstream
        func planeMean(_ t: Tensor) -> Tensor { t.mean(alongAxes: [2, 3], keepingDims: true) }
        return [c.needs[0] ? standardizedPlanesGradient(u, xhat, r) : nil,
                c.needs[1] ? -(r * (planeMean(g * xhat) * u + planeMean(u * xhat) * g)) : nil,
                c.needs[2] ? (u * (g - planeMean(g) - xhat * planeMean(g * xhat))).sum(alongAxes: [2, 3], keepingDims: true) : nil]
    }
}

/// The two passes both gradients share: per plane p of `g` the sums Σg and Σg·x̂, handed
/// to `factor`, and then factor·(g − mean(g) − x̂·mean(g·x̂)) written into `out`.
private func planeGradients(_ g: Tensor, _ xhat: UnsafePointer<Float>, into out: TensorStorage,
                            factor: (_ plane: Int, _ sumG: Float, _ sumGX: Float) -> Float) {
    let size = g.shape[2] * g.shape[3]
    let (upstream, target, mean) = (g.buffer.baseAddress!, out.buffer.baseAddress!, 1 / Float(max(size, 1)))
    for p in 0..<(g.shape[0] * g.shape[1]) {
        let (gp, xp, op) = (upstream + p * size, xhat + p * size, target + p * size)
        let (sumG, sumGX) = (Kernels.sum(gp, count: size), Kernels.dot(gp, xp, count: size))
        let (f, meanG, meanGX) = (factor(p, sumG, sumGX), sumG * mean, sumGX * mean)
        for i in 0..<size { op[i] = f * (gp[i] - meanG - xp[i] * meanGX) }
    }
}
