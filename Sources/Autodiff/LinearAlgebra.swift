/// Matrix product op(a) · op(b) of 2-D tensors, where op transposes when asked. The
/// transpose flags go straight to BLAS, so every VJP is again a flagged product and no
/// transposed copy is ever made.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2, "matmul needs matrices, got \(a.shape) and \(b.shape)")
    let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let (k2, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    precondition(k == k2, "matmul inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
    let storage = TensorStorage(uninitializedCount: m * n)
    if k == 0 {
        storage.buffer.initialize(repeating: 0)
    } else if m > 0 && n > 0 {
        Kernels.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                     a.buffer.baseAddress!, b.buffer.baseAddress!, storage.buffer.baseAddress!)
    }
    return .result(storage, shape: [m, n], inputs: [a, b]) { c in
        let g = c.upstream
        let gradA: Tensor?, gradB: Tensor?
        switch (transposeA, transposeB) {
        case (false, false):
            gradA = c.needs[0] ? matmul(g, b, transposeB: true) : nil
            gradB = c.needs[1] ? matmul(a, g, transposeA: true) : nil
        case (true, false):
            gradA = c.needs[0] ? matmul(b, g, transposeB: true) : nil
            gradB = c.needs[1] ? matmul(a, g) : nil
        case (false, true):
            gradA = c.needs[0] ? matmul(g, b) : nil
            gradB = c.needs[1] ? matmul(g, a, transposeA: true) : nil
        case (true, true):
            gradA = c.needs[0] ? matmul(b, g, transposeA: true, transposeB: true) : nil
            gradB = c.needs[1] ? matmul(g, a, transposeA: true, transposeB: true) : nil
        }
        return [gradA, gradB]
    }
}

/// A fully connected layer in PyTorch's layout: x [N, in] · weightᵀ [in, out] + bias [out].
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let y = matmul(x, weight, transposeB: true)
    return bias.map { y + $0 } ?? y
}
