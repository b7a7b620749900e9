import Autodiff
import Foundation
import Networks

/// NCFM's characteristic-function discrepancy (Wang et al., CVPR 2025) between the
/// class-wise embedding distributions of real and synthetic images. For each class c and
/// frequency t (a row of T [J, D]), the empirical CF is φ(t) = Σ_i w_ci exp(i t·f(x_i)) with
/// the class's weights w_c (rows of `weights`, summing to 1), kept as its real part (mean
/// cos) and imaginary part (mean sin). With amplitudes |φ| and phases a, the paper splits
/// |φ_x − φ_x̃|² into an amplitude part (|φ_x| − |φ_x̃|)² (how concentrated the embeddings
/// are along t) and a phase part 2|φ_x||φ_x̃|(1 − cos(a_x − a_x̃)) (where they sit), and weighs
/// them:
///     CFD_c = mean_t √(α·(|φ_x| − |φ_x̃|)² + β·2(|φ_x||φ_x̃| − Re φ_x Re φ_x̃ − Im φ_x Im φ_x̃) + ε)
/// summed over the classes present in both sets. ε keeps the square roots differentiable
/// at a perfect match (their derivative is infinite at 0).
public enum CharacteristicFunction {
    /// Inside every square root.
    static let epsilon: Float = 1e-6

    /// The real and imaginary parts [classes, J] of the class-wise CFs of `features` [n, D]
    /// at `frequencies` [J, D], classes weighted by `weights` [classes, n].
    static func parts(_ features: Tensor, frequencies: Tensor, weights: Tensor) -> (re: Tensor, im: Tensor) {
        let projections = matmul(features, frequencies, transposeB: true)
        return (matmul(weights, cos(projections)), matmul(weights, sin(projections)))
    }

    /// Per-class averaging weights [classes, n] from nonnegative memberships [n, classes]
    /// (one-hot labels, or the objective's weighted targets), and which classes have any.
    public static func classWeights(_ membership: Tensor) -> (weights: Tensor, present: [Bool]) {
        let (n, classes) = (membership.shape[0], membership.shape[1])
        let m = membership.scalars
        let totals = (0..<classes).map { c in (0..<n).reduce(Float(0)) { $0 + m[$1 * classes + c] } }
        let weights = (0..<classes * n).map { ci in
            totals[ci / n] > 0 ? m[(ci % n) * classes + ci / n] / totals[ci / n] : 0
        }
        return (Tensor(shape: [classes, n], scalars: weights), totals.map { $0 > 0 })
    }

    /// The discrepancy above between `real` [n, D] (class weights `realWeights`) and
    /// `synthetic` [m, D] (`syntheticWeights`) over the classes marked in `classes`.
    public static func discrepancy(real: Tensor, realWeights: Tensor, synthetic: Tensor, syntheticWeights: Tensor,
                                   classes: [Bool], frequencies: Tensor, amplitudeWeight: Float, phaseWeight: Float) -> Tensor {
        let x = parts(real, frequencies: frequencies, weights: realWeights)
        let y = parts(synthetic, frequencies: frequencies, weights: syntheticWeights)
        let (ax, ay) = (sqrt(x.re * x.re + x.im * x.im + epsilon), sqrt(y.re * y.re + y.im * y.im + epsilon))
        let amplitude = (ax - ay) * (ax - ay)
        let phase = 2 * (ax * ay - x.re * y.re - x.im * y.im)
        let perFrequency = sqrt(amplitudeWeight * amplitude + phaseWeight * phase + epsilon)
        let mask = Tensor(shape: [classes.count, 1], scalars: classes.map { $0 ? 1 : 0 })
        return (perFrequency * mask).sum() * (1 / Float(frequencies.shape[0]))
    }
}

/// NCFM's learned frequency distribution, kept small: t = μ + e^s ⊙ z with z ~ N(0, I) drawn
/// per iteration and a learned shift μ and log-scale s per embedding dimension (the paper
/// uses a sampler network; a per-dimension affine map of Gaussian draws is the smallest
/// sampler that can move and stretch the frequencies to where the two sets differ).
public struct FrequencySampler: Sendable {
    /// μ [1, D].
    public var shift: Tensor
    /// s [1, D].
    public var logScale: Tensor

    /// The sampler of N(0, scale²·I) over `dimensions` embedding dimensions.
    public init(dimensions: Int, scale: Float) {
        shift = Tensor.zeros([1, dimensions])
        logScale = Tensor(shape: [1, dimensions], scalars: [Float](repeating: Foundation.log(scale), count: dimensions))
    }

    public var parameters: [Tensor] { [shift, logScale] }

    /// The frequencies [J, D] that `noise` [J, D] maps to.
    public func frequencies(_ noise: Tensor) -> Tensor { shift + exp(logScale) * noise }

    /// One step of `optimizer` up `discrepancy` of this sampler's frequencies for `noise`
    /// (the max of the minmax); returns the discrepancy before the step.
    @discardableResult
    public mutating func ascend(_ optimizer: inout Adam, noise: Tensor, _ discrepancy: (Tensor) -> Tensor) -> Float {
        let (mu, s) = (shift.requiringGradient(), logScale.requiringGradient())
        let value = discrepancy(mu + exp(s) * noise)
        let grads = gradients(of: value, wrt: [mu, s])
        let stepped = optimizer.step(parameters, grads.map { -$0 })
        (shift, logScale) = (stepped[0], stepped[1])
        return value.item
    }
}
