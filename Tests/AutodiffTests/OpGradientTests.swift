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
    OpCase("sin", [random([2, 3], seed: 41, low: -4, high: 4)]) { sin($0[0]) },
    OpCase("cos", [random([2, 3], seed: 42, low: -4, high: 4)]) { cos($0[0]) },
    OpCase("sin·cos of a product", [random([2, 3], seed: 43), random([2, 3], seed: 44)]) { sin($0[0] * $0[1]) * cos($0[1]) },
    OpCase("relu", [random([3, 4], seed: 13, awayFromZero: 0.05)]) { relu($0[0]) },
    // ReLU's gradient op (a mask) as a function of the input and the upstream gradient.
    OpCase("relu's gradient", [random([3, 4], seed: 131, awayFromZero: 0.05), random([3, 4], seed: 132)]) {
        gradientAt($0[0], upstream: $0[1]) { (relu($0) * $1 * $1).sum() }
    },
    OpCase("sigmoid", [random([3, 4], seed: 14, low: -3, high: 3)]) { sigmoid($0[0]) },
    OpCase("softplus", [random([3, 4], seed: 15, low: -3, high: 3)]) { softplus($0[0]) },
    OpCase("tanh", [random([3, 4], seed: 150, low: -2, high: 2)]) { tanh($0[0]) },
    OpCase("leaky relu", [random([3, 4], seed: 151, awayFromZero: 0.05)]) { leakyRelu($0[0], slope: 0.1) * $0[0] },
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
    OpCase("concatenate axis 1", [random([2, 1, 3], seed: 160), random([2, 2, 3], seed: 161)]) {
        exp(concatenated([$0[0], $0[1]], axis: 1)) * random([2, 3, 3], seed: 5)
    },
    OpCase("concatenate a tensor with itself, last axis", [random([2, 3], seed: 162)]) {
        let y = concatenated([$0[0], $0[0] * $0[0]], axis: -1)
        return y * y
    },
    OpCase("slice axis 1", [random([2, 4, 3], seed: 163)]) { exp(sliced($0[0], axis: 1, range: 1..<3)) * random([2, 2, 3], seed: 6) },
    OpCase("zero-pad unequal sides", [random([1, 2, 3, 2], seed: 164)]) {
        exp(zeroPadded($0[0], top: 1, left: 0, bottom: 2, right: 1)) * random([1, 2, 6, 3], seed: 7)
    },
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
] + ConvolutionKernels.allCases.flatMap { kernels in [
    // The direct kernels (AVX2 and portable) and im2col with GEMM, each to the second
    // order: one output channel, five (a partial block), and pad 2 on an odd width.
    OpCase("conv2d \(kernels) 3→1 pad 2", [random([2, 3, 4, 5], seed: 180), random([1, 3, 3, 3], seed: 181), random([1], seed: 182)]) {
        conv2d($0[0], weight: $0[1], bias: $0[2], padding: 2, kernels: kernels)
    },
    OpCase("conv2d \(kernels) 2→5 squared", [random([2, 2, 5, 7], seed: 183), random([5, 2, 3, 2], seed: 184)]) {
        let y = conv2d($0[0], weight: $0[1], kernels: kernels)
        return y * y
    },
]} + [
    OpCase("conv2d unequal pads", [random([1, 2, 4, 4], seed: 170), random([2, 2, 3, 3], seed: 171), random([2], seed: 172)]) {
        conv2d($0[0], weight: $0[1], bias: $0[2], stride: 1, pads: (0, 1, 2, 1), dilation: 1, groups: 1) * 0.5
    },
    OpCase("conv2d dilation 2", [random([1, 1, 6, 5], seed: 173), random([2, 1, 2, 2], seed: 174)]) {
        let y = conv2d($0[0], weight: $0[1], bias: nil, stride: 1, pads: (1, 1, 1, 1), dilation: 2, groups: 1)
        return y * y
    },
    OpCase("conv2d 2 groups stride 2 bias", [random([1, 4, 5, 5], seed: 175), random([4, 2, 3, 3], seed: 176), random([4], seed: 177)]) {
        let y = conv2d($0[0], weight: $0[1], bias: $0[2], stride: 2, pads: (1, 1, 1, 1), dilation: 1, groups: 2)
        return y * y
    },
    OpCase("conv2d depthwise", [random([2, 3, 4, 4], seed: 178), random([3, 1, 3, 3], seed: 179)]) {
        conv2d($0[0], weight: $0[1], bias: nil, stride: 1, pads: (1, 1, 1, 1), dilation: 1, groups: 3) * $0[0]
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
    OpCase("avg-pool 2 on odd sides (the last row and column unread)", [random([1, 2, 5, 7], seed: 195)]) { avgPool2d($0[0], size: 2) },
    OpCase("avg-pool 2 stride 3 (gaps between windows)", [random([1, 2, 5, 7], seed: 196)]) { avgPool2d($0[0], size: 2, stride: 3) },
    OpCase("avg-pool 3 stride 1 (overlapping)", [random([1, 2, 4, 5], seed: 66)]) { avgPool2d($0[0], size: 3, stride: 1) },
    OpCase("avg-pool squared", [random([1, 2, 4, 4], seed: 67)]) {
        let y = avgPool2d($0[0], size: 2)
        return y * y
    },
]

/// Batch normalization in both modes, on 4-D and 2-D batches; squared outputs so the
/// second derivatives couple input, scale and statistics.
let normalizationCases: [OpCase] = [
    OpCase("batch norm eval", [random([2, 3, 2, 2], seed: 180), random([3], seed: 181), random([3], seed: 182),
                               random([3], seed: 183), random([3], seed: 184, low: 0.5, high: 2)]) {
        let y = batchNorm($0[0], scale: $0[1], shift: $0[2], mean: $0[3], variance: $0[4], epsilon: 1e-5)
        return y * y
    },
    OpCase("batch norm train 4-D", [random([3, 2, 2, 2], seed: 185), random([2], seed: 186), random([2], seed: 187)]) {
        let y = batchNormTraining($0[0], scale: $0[1], shift: $0[2], epsilon: 1e-5).output
        return y * y * random([3, 2, 2, 2], seed: 8)
    },
    OpCase("batch norm train 2-D", [random([4, 3], seed: 188), random([3], seed: 189), random([3], seed: 190)]) {
        let y = batchNormTraining($0[0], scale: $0[1], shift: $0[2], epsilon: 1e-5).output
        return exp(y) * random([4, 3], seed: 9)
    },
    // Instance normalization and its core; squared so their gradients are differentiated.
    OpCase("standardized planes", [random([2, 3, 3, 4], seed: 192)]) {
        let y = standardizedPlanes($0[0], epsilon: 1e-5)
        return y * y * random([2, 3, 3, 4], seed: 10)
    },
    OpCase("instance norm", [random([2, 3, 3, 4], seed: 197), random([3], seed: 198), random([3], seed: 199)]) {
        let y = instanceNorm($0[0], scale: $0[1], shift: $0[2])
        return y * y * random([2, 3, 3, 4], seed: 11)
    },
    // Its core's gradient op as a function of the input and the upstream gradient: this checks that
    // op's own first and second derivatives.
    OpCase("standardized planes' gradient", [random([2, 2, 3, 3], seed: 193), random([2, 2, 3, 3], seed: 194)]) {
        gradientAt($0[0], upstream: $0[1]) { (standardizedPlanes($0, epsilon: 1e-5) * $1).sum() }
    },
    // The statistics themselves, as a running-statistics update reads them.
    OpCase("batch norm train statistics", [random([4, 2, 2, 1], seed: 191)]) {
        let s = batchNormTraining($0[0], scale: Tensor.ones([2]), shift: Tensor.zeros([2]), epsilon: 1e-5)
        return concatenated([s.mean * s.mean, s.variance], axis: 0)
    },
]

let lossCases: [OpCase] = [
    OpCase("log-softmax", [random([3, 4], seed: 70, low: -2, high: 2)]) { logSoftmax($0[0]) },
    OpCase("cross-entropy labels", [random([4, 3], seed: 71, low: -2, high: 2)]) { crossEntropy($0[0], labels: [0, 2, 1, 2]) },
    OpCase("cross-entropy soft targets", [random([3, 4], seed: 72, low: -2, high: 2), random([3, 4], seed: 73, low: 0.1, high: 1)]) {
        crossEntropy($0[0], targets: $0[1] / $0[1].sum(alongAxes: [1], keepingDims: true))
    },
]

/// ∇ₓ loss(x, upstream), recorded, for checking a gradient op as a function of its
/// inputs. Taken through a zero shift of `x`, so it is also right when the checker passes
/// `x` as a constant (its finite differences).
func gradientAt(_ x: Tensor, upstream: Tensor, _ loss: (Tensor, Tensor) -> Tensor) -> Tensor {
    let shift = Tensor.zeros(x.shape).requiringGradient()
    return gradients(of: loss(x + shift, upstream), wrt: [shift], createGraph: true)[0]
}

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

    @Test("batch normalization", arguments: normalizationCases)
    func normalization(_ op: OpCase) { expectGradients(op) }

    @Test("log-softmax and cross-entropy", arguments: lossCases)
    func losses(_ op: OpCase) { expectGradients(op) }

    private func expectGradients(_ op: OpCase) {
        let mismatches = GradientCheck().mismatches(op.inputs, op.apply)
        #expect(mismatches.isEmpty, "\(op.name): \(mismatches.prefix(5).map(\.description).joined(separator: "; "))")
    }
}
