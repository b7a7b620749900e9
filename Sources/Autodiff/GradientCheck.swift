/// Finite-difference checks of first and second derivatives.
///
/// Float32 finite differences are noisy, so the checker works on scalar projections
/// accumulated in Double: s(x) = ⟨f(x), v⟩ for a random cotangent v (first order), and
/// h(x, v) = ⟨∇ₓs, w⟩ for random w (second order: the gradient of a gradient-vector
/// product, with respect to the inputs *and* to v). Central differences with step
/// `epsilon` have truncation error O(ε²) and rounding error O(1e-7/ε); with ε = 1e-3 on
/// O(1) values both stay near 1e-4, far below the tolerance. A wrong formula is off by
/// O(1) relative; the tests show that a VJP 3% off fails, and so does one whose first
/// order is right but whose second order is not. Use it to check any new op.
public struct GradientCheck {
    public var epsilon: Float = 1e-3
    /// Allowed |analytic − numeric| ≤ absolute · scale + relative · |numeric|, where scale
    /// is the largest |numeric| entry of that gradient (at least 1).
    public var absolute: Double = 3e-3
    public var relative: Double = 1e-2
    /// Seeds the random cotangents.
    public var seed: UInt64 = 7

    public init() {}

    /// One derivative entry where analytic and numeric values disagree.
    public struct Mismatch: CustomStringConvertible, Sendable {
        public let order: Int, input: Int, element: Int
        public let analytic: Double, numeric: Double
        public var description: String {
            "order \(order), input \(input), element \(element): analytic \(analytic), numeric \(numeric)"
        }
    }

    /// Returns every entry where the analytic and numeric derivatives disagree.
    public func mismatches(_ inputs: [Tensor], secondOrder: Bool = true, _ f: ([Tensor]) -> Tensor) -> [Mismatch] {
        var rng = SeededGenerator(seed: seed)
        let probe = f(inputs)
        let v = Tensor.randomNormal(probe.shape, using: &rng)
        let w = inputs.map { Tensor.randomNormal($0.shape, using: &rng) }

        // First order: ∇ₓ⟨f(x), v⟩.
        var found: [Mismatch] = []
        let leaves = inputs.map { $0.requiringGradient() }
        let analytic = gradients(of: (f(leaves) * v).sum(), wrt: leaves)
        for (index, input) in inputs.enumerated() {
            let numeric = numericGradient(of: input, at: index, in: inputs) { xs in dot(f(xs), v) }
            found += compare(analytic[index], numeric, order: 1, input: index)
        }
        guard secondOrder else { return found }

        // Second order: ∇_{x,v} ⟨∇ₓ⟨f(x), v⟩, w⟩, through the recorded backward pass.
        let vLeaf = v.requiringGradient()
        let graphLeaves = inputs.map { $0.requiringGradient() }
        let firsts = gradients(of: (f(graphLeaves) * vLeaf).sum(), wrt: graphLeaves, createGraph: true)
        let h = zip(firsts, w).map { ($0 * $1).sum() }.reduce(Tensor(0), +)
        let seconds = gradients(of: h, wrt: graphLeaves + [vLeaf])
        let all = inputs + [v]
        func hNumeric(_ xs: [Tensor]) -> Double {
            let xLeaves = xs.dropLast().map { $0.requiringGradient() }
            let g = gradients(of: (f(Array(xLeaves)) * xs[xs.count - 1]).sum(), wrt: Array(xLeaves))
            return zip(g, w).map { dot($0, $1) }.reduce(0, +)
        }
        for index in all.indices {
            let numeric = numericGradient(of: all[index], at: index, in: all, hNumeric)
            found += compare(seconds[index], numeric, order: 2, input: index)
        }
        return found
    }

    /// Central differences of `scalar` along every element of input `index`.
    private func numericGradient(of input: Tensor, at index: Int, in inputs: [Tensor],
                                 _ scalar: ([Tensor]) -> Double) -> [Double] {
        let base = input.scalars
        return base.indices.map { element in
            func shifted(_ delta: Float) -> Double {
                var values = base
                values[element] += delta
                var xs = inputs
                xs[index] = Tensor(shape: input.shape, scalars: values)
                return scalar(xs)
            }
            return (shifted(epsilon) - shifted(-epsilon)) / (2 * Double(epsilon))
        }
    }

    private func compare(_ analytic: Tensor, _ numeric: [Double], order: Int, input: Int) -> [Mismatch] {
        let scale = max(1, numeric.map(abs).max() ?? 0)
        return zip(analytic.scalars, numeric).enumerated().compactMap { element, pair in
            let (a, n) = (Double(pair.0), pair.1)
            guard abs(a - n) > absolute * scale + relative * abs(n) || !a.isFinite else { return nil }
            return Mismatch(order: order, input: input, element: element, analytic: a, numeric: n)
        }
    }
}

/// ⟨a, b⟩ accumulated in Double.
public func dot(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.shape == b.shape, "dot of \(a.shape) and \(b.shape)")
    var total = 0.0
    for i in 0..<a.count { total += Double(a.buffer[i]) * Double(b.buffer[i]) }
    return total
}

