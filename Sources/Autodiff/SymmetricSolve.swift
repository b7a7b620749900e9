/// X = A⁻¹B for a symmetric positive-definite A [n, n] and B [n, k]: the solve kernel ridge
/// regression needs (Cholesky factorization, accumulated in Double because the kernel
/// matrices it is used on are often ill-conditioned).
///
/// Only the symmetric part (A + Aᵀ)/2 is used, so the op is defined for any square A and
/// its gradient with respect to A is the symmetric one, −sym(Ḡ Xᵀ) with Ḡ = A⁻¹G. Both
/// gradients are written with this op and matmul, so the solve has second derivatives.
public func solveSymmetric(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.rank == 2 && a.shape[0] == a.shape[1] && b.rank == 2 && b.shape[0] == a.shape[0],
                 "solveSymmetric needs A [n, n] and B [n, k], got \(a.shape) and \(b.shape)")
    let (n, k) = (b.shape[0], b.shape[1])
    let factor = choleskyFactor(a)
    let storage = TensorStorage(uninitializedCount: n * k)
    var column = [Double](repeating: 0, count: n)
    for j in 0..<k {
        for i in 0..<n { column[i] = Double(b.buffer[i * k + j]) }
        // L y = b, then Lᵀ x = y.
        for i in 0..<n {
            var s = column[i]
            for p in 0..<i { s -= factor[i * n + p] * column[p] }
            column[i] = s / factor[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = column[i]
            for p in (i + 1)..<n { s -= factor[p * n + i] * column[p] }
            column[i] = s / factor[i * n + i]
        }
        for i in 0..<n { storage.buffer[i * k + j] = Float(column[i]) }
    }
    return .result(storage, shape: [n, k], inputs: [a, b], keepOutput: true) { c in
        let gB = solveSymmetric(a, c.upstream)
        guard c.needs[0] else { return [nil, gB] }
        let outer = matmul(gB, c.output, transposeB: true)
        return [-0.5 * (outer + outer.transposed()), c.needs[1] ? gB : nil]
    }
}

/// The lower Cholesky factor L (row-major, n × n) of (A + Aᵀ)/2. A matrix that is not
/// positive definite is a caller's error (kernel ridge regression adds λI to make sure).
func choleskyFactor(_ a: Tensor) -> [Double] {
    let n = a.shape[0]
    var l = [Double](repeating: 0, count: n * n)
    for i in 0..<n {
        for j in 0...i {
            var s = 0.5 * (Double(a.buffer[i * n + j]) + Double(a.buffer[j * n + i]))
            for p in 0..<j { s -= l[i * n + p] * l[j * n + p] }
            if i == j {
                precondition(s > 0, "solveSymmetric: the matrix is not positive definite (pivot \(i) is \(s))")
                l[i * n + i] = s.squareRoot()
            } else {
                l[i * n + j] = s / l[j * n + j]
            }
        }
    }
    return l
}
