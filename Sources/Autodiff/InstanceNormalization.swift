/// Instance normalization's core, fused: every (image, channel) plane of an NCHW batch
/// standardized to zero mean and unit (biased) variance, x̂ = (x − μ) / √(σ² + ε).
/// Written with elementwise ops it took nine full-size passes and temporaries forward
/// and about twenty backward, most of a ConvNet-3 step outside its GEMMs; here it is two
/// passes each way. The VJP is `standardizedPlanesGradient`, an op whose own VJP is
/// written in differentiable ops, so derivatives of every order stay exact.
public func standardizedPlanes(_ x: Tensor, epsilon: Float) -> Tensor {
    precondition(x.rank == 4, "standardizedPlanes needs an NCHW batch, got \(x.shape)")
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
    let (planes, size) = (g.shape[0] * g.shape[1], g.shape[2] * g.shape[3])
    let storage = TensorStorage(uninitializedCount: g.count)
    let (upstream, normalized, inverse, out) = (g.buffer.baseAddress!, xhat.buffer.baseAddress!, r.buffer, storage.buffer.baseAddress!)
    let scale = 1 / Float(max(size, 1))
    for p in 0..<planes {
        let (gp, xp, target) = (upstream + p * size, normalized + p * size, out + p * size)
        let meanG = Kernels.sum(gp, count: size) * scale, meanGX = Kernels.dot(gp, xp, count: size) * scale
        let factor = inverse[p]
        for i in 0..<size { target[i] = factor * (gp[i] - meanG - xp[i] * meanGX) }
    }
    return .result(storage, shape: g.shape, inputs: [g, xhat, r]) { c in
        let u = c.upstream
        func planeMean(_ t: Tensor) -> Tensor { t.mean(alongAxes: [2, 3], keepingDims: true) }
        return [c.needs[0] ? standardizedPlanesGradient(u, xhat, r) : nil,
                c.needs[1] ? -(r * (planeMean(g * xhat) * u + planeMean(u * xhat) * g)) : nil,
                c.needs[2] ? (u * (g - planeMean(g) - xhat * planeMean(g * xhat))).sum(alongAxes: [2, 3], keepingDims: true) : nil]
    }
}
