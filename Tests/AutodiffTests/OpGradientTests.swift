import Autodiff
import Testing

/// One op under test: its inputs and how to apply it.
struct OpCase: Sendable, CustomTestStringConvertible {
    let name: String
    let inputs: [Tensor]
    let apply: @Sendable ([Tensor]) -> Tensor
    var testDescription: String { name }

    init(_ name: String, _ inputs: [Tensor], _ apply: @escaping @Sendable ([Tensor]) -> Tensor) {
        (self.name, self.inputs, self.apply) = (name, inputs, apply)
    }
}

let elementwiseCases: [OpCase] = [
    OpCase("add", [random([2, 3], seed: 1), random([2, 3], seed: 2)]) { $0[0] + $0[1] },
    OpCase("add scalar broadcast", [random([2, 3], seed: 1), random([], seed: 2)]) { $0[0] + $0[1] },
    OpCase("add row broadcast", [random([3, 4], seed: 1), random([4], seed: 2)]) { $0[0] + $0[1] },
    OpCase("add channel broadcast", [random([2, 3, 2, 2], seed: 1), random([1, 3, 1, 1], seed: 2)]) { $0[0] + $0[1] },
    OpCase("sub", [random([2, 3], seed: 3), random([2, 3], seed: 4)]) { $0[0] - $0[1] },
    OpCase("sub row broadcast", [random([4], seed: 3), random([3, 4], seed: 4)]) { $0[0] - $0[1] },
    OpCase("mul", [random([2, 3], seed: 5), random([2, 3], seed: 6)]) { $0[0] * $0[1] },
    OpCase("mul channel broadcast", [random([2, 3, 2, 2], seed: 5), random([1, 3, 1, 1], seed: 6)]) { $0[0] * $0[1] },
    OpCase("mul scalar broadcast", [random([], seed: 5), random([2, 3], seed: 6)]) { $0[0] * $0[1] },
    OpCase("div", [random([2, 3], seed: 7), random([2, 3], seed: 8, low: 0.5, high: 2)]) { $0[0] / $0[1] },
    OpCase("div row broadcast", [random([3, 4], seed: 7), random([4], seed: 8, low: 0.5, high: 2)]) { $0[0] / $0[1] },
    OpCase("neg", [random([2, 3], seed: 9)]) { -$0[0] },
    OpCase("exp", [random([2, 3], seed: 10)]) { exp($0[0]) },
    OpCase("log", [random([2, 3], seed: 11, low: 0.5, high: 2)]) { log($0[0]) },
    OpCase("sqrt", [random([2, 3], seed: 12, low: 0.5, high: 2)]) { sqrt($0[0]) },
    OpCase("relu", [random([3, 4], seed: 13, awayFromZero: 0.05)]) { relu($0[0]) },
    OpCase("sigmoid", [random([3, 4], seed: 14, low: -3, high: 3)]) { sigmoid($0[0]) },
    OpCase("softplus", [random([3, 4], seed: 15, low: -3, high: 3)]) { softplus($0[0]) },
    // Composites exercise the second order of the products above through nonlinearity.
    OpCase("x·sigmoid(x)", [random([2, 3], seed: 16)]) { $0[0] * sigmoid($0[0]) },
    OpCase("exp(x)/y", [random([2, 3], seed: 17), random([3], seed: 18, low: 0.5, high: 2)]) { exp($0[0]) / $0[1] },
]

let shapeCases: [OpCase] = [
    OpCase("sum", [random([2, 3], seed: 20)]) { $0[0].sum() * $0[0].sum() },
    OpCase("mean", [random([2, 3], seed: 21)]) { exp($0[0].mean()) },
    OpCase("sum axis 1", [random([2, 3, 4], seed: 22)]) { exp($0[0].sum(alongAxes: [1])) },
    OpCase("sum axes 0,2 keepingDims", [random([2, 3, 4], seed: 23)]) { $0[0] * $0[0].sum(alongAxes: [0, 2], keepingDims: true) },
    OpCase("mean axes 2,3", [random([2, 3, 2, 2], seed: 24)]) { exp($0[0].mean(alongAxes: [2, 3])) },
    OpCase("broadcast", [random([3, 1], seed: 25)]) { exp($0[0].broadcast(to: [2, 3, 4])) },
    OpCase("sum to shape", [random([2, 3, 4], seed: 26)]) { exp($0[0].sum(toShape: [3, 1])) },
    OpCase("reshape", [random([2, 6], seed: 27)]) { exp($0[0].reshaped([3, -1])) * random([3, 4], seed: 1) },
    OpCase("permute", [random([2, 3, 4], seed: 28)]) { exp($0[0].permuted([2, 0, 1])) * random([4, 2, 3], seed: 2) },
    OpCase("transpose", [random([2, 3], seed: 29)]) { exp($0[0].transposed()) * random([3, 2], seed: 3) },
    // Shifts with replicated borders read some pixels twice: the scatter-add must sum them.
    OpCase("remap shift and flip", [random([2, 1, 3, 4], seed: 19)]) {
        let offsets = translationOffsets(shape: [2, 1, 3, 4], dy: [1, -2], dx: [-1, 2], flip: [false, true])
        return exp(remapped($0[0], sourceOffsets: offsets, shape: [2, 1, 3, 4])) * random([2, 1, 3, 4], seed: 4)
    },
    OpCase("remap crop", [random([1, 2, 3, 3], seed: 18)]) {
        let offsets: [Int32] = [0, 1, 3, 4, 9, 10, 12, 13]   // the top-left 2×2 of each channel
        return exp(remapped($0[0], sourceOffsets: offsets, shape: [1, 2, 2, 2]) * $0[0].sum())
    },
]

let linearAlgebraCases: [OpCase] = [
    OpCase("matmul", [random([2, 3], seed: 30), random([3, 4], seed: 31)]) { matmul($0[0], $0[1]) },
    OpCase("matmul Aᵀ", [random([3, 2], seed: 32), random([3, 4], seed: 33)]) { matmul($0[0], $0[1], transposeA: true) },
    OpCase("matmul Bᵀ", [random([2, 3], seed: 34), random([4, 3], seed: 35)]) { matmul($0[0], $0[1], transposeB: true) },
    OpCase("matmul AᵀBᵀ", [random([3, 2], seed: 36), random([4, 3], seed: 37)]) {
        matmul($0[0], $0[1], transposeA: true, transposeB: true)
    },
    OpCase("matmul squared", [random([3, 3], seed: 38)]) { matmul($0[0], $0[0]) },
    OpCase("linear", [random([2, 3], seed: 39), random([4, 3], seed: 40), random([4], seed: 41)]) {
        linear($0[0], weight: $0[1], bias: $0[2])
    },
]

let convolutionCases: [OpCase] = [
    OpCase("conv2d", [random([2, 2, 5, 5], seed: 50), random([3, 2, 3, 3], seed: 51)]) {
        conv2d($0[0], weight: $0[1])
    },
    OpCase("conv2d stride 2 pad 1 bias", [random([2, 2, 5, 4], seed: 52), random([3, 2, 3, 2], seed: 53), random([3], seed: 54)]) {
        conv2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1)
    },
    OpCase("conv2d pad 2 (LeNet conv1)", [random([1, 1, 6, 6], seed: 55), random([2, 1, 5, 5], seed: 56), random([2], seed: 57)]) {
        conv2d($0[0], weight: $0[1], bias: $0[2], padding: 2)
    },
    // x·conv(x): the input gradient then depends on x twice, exercising the transposed
    // convolution's own VJP with respect to both its arguments.
    OpCase("conv2d times input", [random([1, 2, 4, 4], seed: 58), random([2, 2, 3, 3], seed: 59)]) {
        conv2d($0[0], weight: $0[1], padding: 1) * $0[0]
    },
    OpCase("conv2d squared", [random([1, 1, 4, 4], seed: 60), random([2, 1, 3, 3], seed: 61)]) {
        let y = conv2d($0[0], weight: $0[1])
        return y * y
    },
    OpCase("max-pool 2", [distinct([2, 2, 4, 4], seed: 62)]) { maxPool2d($0[0], size: 2) },
    OpCase("max-pool 2, rows of 9 windows (8 at once, then one)", [distinct([1, 2, 4, 18], seed: 69)]) { maxPool2d($0[0], size: 2) },
    OpCase("max-pool 3 stride 2 (overlapping)", [distinct([1, 2, 5, 5], seed: 63)]) { maxPool2d($0[0], size: 3, stride: 2) },
    OpCase("max-pool 3 stride 2 padding 1", [distinct([1, 2, 5, 4], seed: 68)]) { maxPool2d($0[0], size: 3, stride: 2, padding: 1) },
    OpCase("max-pool squared", [distinct([1, 2, 4, 4], seed: 64)]) {
        let y = maxPool2d($0[0], size: 2)
        return y * y
    },
    OpCase("avg-pool 2", [random([2, 2, 4, 4], seed: 65)]) { avgPool2d($0[0], size: 2) },
    OpCase("avg-pool 3 stride 1 (overlapping)", [random([1, 2, 4, 5], seed: 66)]) { avgPool2d($0[0], size: 3, stride: 1) },
    OpCase("avg-pool squared", [random([1, 2, 4, 4], seed: 67)]) {
        let y = avgPool2d($0[0], size: 2)
        return y * y
    },
]

let lossCases: [OpCase] = [
    OpCase("log-softmax", [random([3, 4], seed: 70, low: -2, high: 2)]) { logSoftmax($0[0]) },
    OpCase("cross-entropy labels", [random([4, 3], seed: 71, low: -2, high: 2)]) { crossEntropy($0[0], labels: [0, 2, 1, 2]) },
    OpCase("cross-entropy soft targets", [random([3, 4], seed: 72, low: -2, high: 2), random([3, 4], seed: 73, low: 0.1, high: 1)]) {
        crossEntropy($0[0], targets: $0[1] / $0[1].sum(alongAxes: [1], keepingDims: true))
    },
]

@Suite("First- and second-order finite-difference checks of every op")
struct OpGradientTests {
    @Test("elementwise ops", arguments: elementwiseCases)
    func elementwise(_ op: OpCase) { expectGradients(op) }

    @Test("reductions and shape ops", arguments: shapeCases)
    func shapes(_ op: OpCase) { expectGradients(op) }

    @Test("matrix products", arguments: linearAlgebraCases)
    func linearAlgebra(_ op: OpCase) { expectGradients(op) }

    @Test("convolution and pooling", arguments: convolutionCases)
    func convolution(_ op: OpCase) { expectGradients(op) }

    @Test("log-softmax and cross-entropy", arguments: lossCases)
    func losses(_ op: OpCase) { expectGradients(op) }

    private func expectGradients(_ op: OpCase) {
        let mismatches = GradientCheck().mismatches(op.inputs, op.apply)
        #expect(mismatches.isEmpty, "\(op.name): \(mismatches.prefix(5).map(\.description).joined(separator: "; "))")
    }
}
