import Autodiff
import Networks

/// Kernel ridge regression from a support set to a target batch, with the empirical
/// random-feature kernel of a few networks: K(a, b) = (1/P) Σ_p φ_p(a)·φ_p(b) / D, φ_p the
/// penultimate features of network p (D of them). Every piece is made of differentiable
/// ops, so the loss can be differentiated (to second order) back to the support images
/// and labels: what KIP optimizes.
public enum KernelRegression {
    /// The features of `images` under every network in `networks`, scaled and side by side
    /// ([N, P·D]), so that the kernel is a plain product: K(a, b) = Φ(a) Φ(b)ᵀ.
    public static func features(_ classifier: any Classifier, _ images: Tensor, networks: [[Tensor]]) -> Tensor {
        let each = networks.map { classifier.features(images, $0) }
        let scale = 1 / Float(networks.count * each[0].shape[1]).squareRoot()
        return concatenated(each, axis: 1) * scale
    }

    /// The kernel regression's weights on the support set, (K_ss + λ̄I)⁻¹ (for `labels`),
    /// with λ̄ = λ·tr(K_ss)/n.
    public static func solve(supportKernel kss: Tensor, _ labels: Tensor, regularization: Float) -> Tensor {
        let n = kss.shape[0]
        let identity = Tensor(shape: [n, n]) { out in
            out.initialize(repeating: 0)
            for i in 0..<n { out[i * n + i] = 1 }
        }
        let ridge = (kss * identity).sum() * (regularization / Float(n))
        return solveSymmetric(kss + ridge * identity, labels)
    }

    /// Predictions on the targets, K_ts (K_ss + λ̄I)⁻¹ Y_s, from the support and target
    /// features ([n, F], [m, F]) and the support labels [n, classes].
    public static func predictions(support: Tensor, targets: Tensor, labels: Tensor, regularization: Float) -> Tensor {
        let kss = matmul(support, support, transposeB: true)
        let kts = matmul(targets, support, transposeB: true)
        return matmul(kts, solve(supportKernel: kss, labels, regularization: regularization))
    }

    /// KIP's loss: half the mean over target rows of the squared error to `wanted` [m, classes].
    public static func loss(support: Tensor, targets: Tensor, labels: Tensor, wanted: Tensor, regularization: Float) -> Tensor {
        let residual = predictions(support: support, targets: targets, labels: labels, regularization: regularization) - wanted
        return (residual * residual).sum() * (0.5 / Float(wanted.shape[0]))
    }

    /// The support labels that minimize `loss` for these features (label solve): with
    /// A = K_ts (K_ss + λ̄I)⁻¹, the least-squares Y = (AᵀA + εI)⁻¹ Aᵀ·wanted, where a tiny
    /// ε (1e-6 of AᵀA's mean diagonal) only keeps the solve defined when A is rank
    /// deficient. A constant: at the minimum the loss's gradient through Y vanishes, so
    /// the images' gradient at fixed Y is the gradient of the solved loss.
    public static func solvedLabels(support: Tensor, targets: Tensor, wanted: Tensor, regularization: Float) -> Tensor {
        GradientMode.withoutRecording {
            let kss = matmul(support, support, transposeB: true)
            let kst = matmul(support, targets, transposeB: true)
            let a = solve(supportKernel: kss, kst, regularization: regularization).transposed()   // [m, n]
            let normal = matmul(a, a, transposeA: true)
            return solve(supportKernel: normal, matmul(a, wanted, transposeA: true), regularization: 1e-6)
        }
    }
}
