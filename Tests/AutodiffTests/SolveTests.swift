import Autodiff
import Testing

@Suite("Symmetric positive-definite solve")
struct SolveTests {
    /// M Mᵀ + I: symmetric positive definite for any M, and differentiable in M.
    static func spd(_ m: Tensor) -> Tensor {
        let n = m.shape[0]
        let identity = Tensor(shape: [n, n]) { out in
            out.initialize(repeating: 0)
            for i in 0..<n { out[i * n + i] = 1 }
        }
        return matmul(m, m, transposeB: true) + identity
    }

    @Test("A·solve(A, B) gives B back, and only A's symmetric part counts")
    func forward() {
        let a = Self.spd(random([4, 4], seed: 1)), b = random([4, 3], seed: 2)
        let x = solveSymmetric(a, b)
        #expect(zip(matmul(a, x).scalars, b.scalars).allSatisfy { abs($0 - $1) < 1e-4 })
        let skew = random([4, 4], seed: 3)
        let lopsided = a + skew - skew.transposed()
        #expect(zip(solveSymmetric(lopsided, b).scalars, x.scalars).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test("first and second derivatives match finite differences, in A and B")
    func gradients() {
        let mismatches = GradientCheck().mismatches([random([4, 4], seed: 4), random([4, 2], seed: 5)]) {
            solveSymmetric(Self.spd($0[0]), $0[1])
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5).map(\.description).joined(separator: "; "))")
    }

    @Test("a wrong gradient is caught: dropping the symmetrization of A's gradient fails the check")
    func checkCanFail() {
        let mismatches = GradientCheck().mismatches([random([3, 3], seed: 6), random([3, 2], seed: 7)]) { inputs in
            // A non-symmetric A: the true derivative in A is the symmetric one, not −ḠXᵀ.
            let a = Self.spd(Tensor.zeros([3, 3])) * 2 + inputs[0] * 0.3, b = inputs[1]
            let x = solveSymmetric(a, b).detached()
            return customOp(value: x, inputs: [a, b]) { c in
                let gB = solveSymmetric(a, c.upstream)
                return [-matmul(gB, c.output, transposeB: true), gB]
            }
        }
        #expect(!mismatches.isEmpty)
    }
}
