import Autodiff
import Foundation
import Networks

/// Dataset Distillation's linear case (§3.3), runnable: least squares with D features,
/// ℓ(θ) = ‖dθ − t‖² / 2N on N real points. One gradient step on M distilled points
/// (d̃ [M, D], t̃ [M]) with step size η̃ maps θ₀ to
///     θ₁ = θ₀ − (η̃/M) d̃ᵀ(d̃θ₀ − t̃) = (I − (η̃/M) d̃ᵀd̃) θ₀ + (η̃/M) d̃ᵀt̃,
/// which is θ* for every θ₀ only if (η̃/M) d̃ᵀd̃ = I: a rank-D matrix, so M ≥ D. With M < D
/// the part of θ₀ in the null space of d̃ survives the step whatever the data, and the loss
/// reached from arbitrary initializations stays above the optimum.
public struct LinearCase: Sendable {
    /// Real inputs [N, D] and targets [N].
    public let inputs: [[Double]]
    public let targets: [Double]
    /// The least-squares optimum θ*.
    public let optimum: [Double]

    public var features: Int { optimum.count }

    /// N random points (standard normal inputs, targets from a random linear map plus noise).
    public init(features: Int, points: Int, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let truth = (0..<features).map { _ in Double(rng.nextNormal()) }
        inputs = (0..<points).map { _ in (0..<features).map { _ in Double(rng.nextNormal()) } }
        targets = inputs.map { row in zip(row, truth).map(*).reduce(0, +) + 0.1 * Double(rng.nextNormal()) }
        optimum = Self.leastSquares(inputs, targets)
    }

    /// ℓ(θ) on the real points.
    public func loss(_ theta: [Double]) -> Double {
        zip(inputs, targets).map { row, t in
            let r = zip(row, theta).map(*).reduce(0, +) - t
            return r * r
        }.reduce(0, +) / Double(2 * inputs.count)
    }

    /// Distilled data and its step size.
    public struct Distilled: Sendable {
        public var inputs: [[Double]]
        public var targets: [Double]
        public var stepSize: Double

        public init(inputs: [[Double]], targets: [Double], stepSize: Double) {
            (self.inputs, self.targets, self.stepSize) = (inputs, targets, stepSize)
        }

        /// θ₀ after one gradient step on ‖d̃θ − t̃‖² / 2M.
        public func step(_ theta: [Double]) -> [Double] {
            var gradient = [Double](repeating: 0, count: theta.count)
            for (row, t) in zip(inputs, targets) {
                let r = zip(row, theta).map(*).reduce(0, +) - t
                for j in gradient.indices { gradient[j] += r * row[j] / Double(inputs.count) }
            }
            return zip(theta, gradient).map { $0 - stepSize * $1 }
        }
    }

    /// The closed form for M = D: d̃ = c·I, t̃ = c·θ*, η̃ = D / c², so the step is
    /// θ₁ = θ₀ − (θ₀ − θ*) = θ* from any θ₀. (With the loss summed instead of averaged,
    /// and η̃ = 1/N, this is the paper's d̃ = N·I, t̃ = N·θ*.)
    public func closedForm(scale c: Double = 1) -> Distilled {
        let d = features
        return Distilled(inputs: (0..<d).map { i in (0..<d).map { $0 == i ? c : 0 } },
                         targets: optimum.map { c * $0 }, stepSize: Double(d) / (c * c))
    }

    /// M distilled points and a step size learned by unrolling the step (as the seeds'
    /// algorithm does: the inner gradient is taken by the autodiff tape with its graph
    /// kept) over batches of random initializations θ₀ ~ N(0, I), with Adam.
    public func learn(points m: Int, iterations: Int, batch: Int = 64, seed: UInt64) -> Distilled {
        var rng = SeededGenerator(seed: seed)
        let d = features
        let realX = Tensor(shape: [inputs.count, d], scalars: inputs.flatMap { $0.map(Float.init) })
        let realT = Tensor(shape: [inputs.count, 1], scalars: targets.map(Float.init))
        var parameters = [Tensor.randomNormal([m, d], using: &rng), Tensor.randomNormal([m, 1], using: &rng),
                          Tensor(Foundation.log(Foundation.expm1(Float(0.1))))]
        var adam = Adam(learningRate: 0.03)
        for _ in 0..<iterations {
            let leaves = parameters.map { $0.requiringGradient() }
            let (x, t, eta) = (leaves[0], leaves[1], softplus(leaves[2]))
            let theta0 = Tensor.randomNormal([d, batch], using: &rng).requiringGradient()
            // Each column is one initialization; the inner loss sums their separate losses.
            let residual = matmul(x, theta0) - t
            let inner = (residual * residual).sum() * (1 / Float(2 * m))
            let theta1 = theta0 - eta * gradients(of: inner, wrt: [theta0], createGraph: true)[0]
            let outer = matmul(realX, theta1) - realT
            let loss = (outer * outer).sum() * (1 / Float(2 * inputs.count * batch))
            parameters = adam.step(parameters, gradients(of: loss, wrt: leaves))
        }
        let eta = GradientMode.withoutRecording { softplus(parameters[2]) }.item
        return Distilled(inputs: (0..<m).map { i in (0..<d).map { Double(parameters[0].scalars[i * d + $0]) } },
                         targets: parameters[1].scalars.map(Double.init), stepSize: Double(eta))
    }

    /// The mean loss reached by one step of `distilled` from `count` random θ₀ ~ N(0, I)
    /// (fresh ones, drawn from `seed`), and the mean loss before it.
    public func reached(_ distilled: Distilled, initializations count: Int, seed: UInt64) -> (before: Double, after: Double) {
        var rng = SeededGenerator(seed: seed)
        var (before, after) = (0.0, 0.0)
        for _ in 0..<count {
            let theta0 = (0..<features).map { _ in Double(rng.nextNormal()) }
            before += loss(theta0)
            after += loss(distilled.step(theta0))
        }
        return (before / Double(count), after / Double(count))
    }

    /// Solves the normal equations (xᵀx) θ = xᵀt by Gaussian elimination with partial pivoting.
    static func leastSquares(_ x: [[Double]], _ t: [Double]) -> [Double] {
        let d = x.first?.count ?? 0
        var a = [[Double]](repeating: [Double](repeating: 0, count: d + 1), count: d)
        for (row, target) in zip(x, t) {
            for i in 0..<d {
                for j in 0..<d { a[i][j] += row[i] * row[j] }
                a[i][d] += row[i] * target
            }
        }
        for col in 0..<d {
            let pivot = (col..<d).max { abs(a[$0][col]) < abs(a[$1][col]) }!
            a.swapAt(col, pivot)
            for row in 0..<d where row != col {
                let f = a[row][col] / a[col][col]
                for k in col...d { a[row][k] -= f * a[col][k] }
            }
        }
        return (0..<d).map { a[$0][d] / a[$0][$0] }
    }
}
