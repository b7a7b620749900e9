import Autodiff
import Testing

/// The fast paths give what the plain definitions give: broadcasting over merged
/// dimensions against per-element indexing, and the fused instance-normalization core
/// against the same formula in elementwise ops.
@Suite("Fast paths against their definitions")
struct FusedValueTests {
    /// Row-major strides of `shape`, with 0 along dimensions of extent 1 (broadcast).
    func strides(_ shape: [Int], in target: [Int]) -> [Int] {
        let padded = Array(repeating: 1, count: target.count - shape.count) + shape
        var result = [Int](repeating: 0, count: padded.count), step = 1
        for i in padded.indices.reversed() {
            result[i] = padded[i] == 1 ? 0 : step
            step *= padded[i]
        }
        return result
    }

    /// `op` of `a` and `b` element by element over their broadcast shape `target`.
    func reference(_ a: Tensor, _ b: Tensor, _ target: [Int], _ op: (Float, Float) -> Float) -> [Float] {
        let (sa, sb) = (strides(a.shape, in: target), strides(b.shape, in: target))
        return (0..<target.reduce(1, *)).map { flat in
            var (rest, ia, ib) = (flat, 0, 0)
            for d in target.indices.reversed() {
                let index = rest % target[d]
                rest /= target[d]
                (ia, ib) = (ia + index * sa[d], ib + index * sb[d])
            }
            return op(a.scalars[ia], b.scalars[ib])
        }
    }

    @Test("broadcast arithmetic, sums to a shape and broadcasts equal per-element indexing", arguments: [
        ([2, 3, 4, 5], [1, 3, 1, 1]), ([2, 3, 4, 5], [2, 3, 1, 1]), ([2, 3, 4, 5], [1, 1, 4, 5]),
        ([2, 3, 4, 5], [2, 1, 4, 1]), ([2, 3, 4, 5], [5]), ([1, 3, 1, 1], [2, 3, 4, 5]), ([3, 1], [1, 4]),
        ([2, 1, 1, 5], [2, 3, 4, 1]), ([4, 1, 1], [1, 1, 1]),
    ])
    func broadcasting(_ shapes: ([Int], [Int])) {
        let (a, b) = (random(shapes.0, seed: 300), random(shapes.1, seed: 301))
        let target = (a + b).shape
        #expect((a + b).scalars == reference(a, b, target, +))
        #expect((a * b).scalars == reference(a, b, target, *))
        #expect((b - a).scalars == reference(b, a, target, -))
        #expect(a.broadcast(to: target).scalars == reference(a, Tensor(0), target, +))
        // Summing the broadcast back multiplies each element by how often it was repeated.
        let repeats = Float(target.reduce(1, *) / a.count)
        let summed = a.broadcast(to: target).sum(toShape: a.shape).scalars
        #expect(zip(summed, a.scalars).allSatisfy { abs($0 - repeats * $1) <= 1e-5 * repeats })
    }

    @Test("a permutation over merged dimensions moves every element where indexing puts it")
    func permutation() {
        let x = random([2, 3, 4, 5], seed: 302)
        let y = x.permuted([0, 2, 3, 1])
        for (n, c, h, w) in [(0, 0, 0, 0), (1, 2, 3, 4), (1, 0, 2, 3), (0, 2, 1, 0)] {
            #expect(y.scalars[((n * 4 + h) * 5 + w) * 3 + c] == x.scalars[((n * 3 + c) * 4 + h) * 5 + w])
        }
        #expect(y.permuted([0, 3, 1, 2]).scalars == x.scalars)
    }

    /// Instance normalization as it was written before the fused ops.
    func composite(_ x: Tensor, _ scale: Tensor, _ shift: Tensor) -> Tensor {
        let centered = x - x.mean(alongAxes: [2, 3], keepingDims: true)
        let channels = [1, x.shape[1], 1, 1]
        return centered / sqrt((centered * centered).mean(alongAxes: [2, 3], keepingDims: true) + 1e-5)
            * scale.reshaped(channels) + shift.reshaped(channels)
    }

    @Test("instance norm and its core: values, gradients (plain and recorded) and second-order gradients equal the elementwise formula's")
    func instanceNormMatches() {
        let inputs = [random([3, 5, 7, 7], seed: 303, low: -2, high: 3), random([5], seed: 306), random([5], seed: 307)]
        let v = random([3, 5, 7, 7], seed: 304)
        let w = inputs.enumerated().map { random($1.shape, seed: 310 + UInt64($0)) }
        func derivatives(_ f: ([Tensor]) -> Tensor) -> [[Float]] {
            let leaves = inputs.map { $0.requiringGradient() }
            let y = f(leaves)
            let plain = gradients(of: (y * y * v).sum(), wrt: leaves)
            let recorded = gradients(of: (y * y * v).sum(), wrt: leaves, createGraph: true)
            let second = gradients(of: zip(recorded, w).map { ($0 * $1).sum() }.reduce(Tensor(0), +), wrt: leaves)
            return [y.scalars] + (plain + recorded + second).map(\.scalars)
        }
        let plain = derivatives { composite($0[0], $0[1], $0[2]) }
        let channels = [1, 5, 1, 1]
        for fused in [derivatives { instanceNorm($0[0], scale: $0[1], shift: $0[2]) },
                      derivatives { standardizedPlanes($0[0], epsilon: 1e-5) * $0[1].reshaped(channels) + $0[2].reshaped(channels) }] {
            for (index, (a, b)) in zip(fused, plain).enumerated() {
                let scale = b.map(abs).max() ?? 1
                #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 2e-5 * max(scale, 1) }, "result \(index)")
            }
        }
    }
}
