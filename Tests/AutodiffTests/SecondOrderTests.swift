import Autodiff
import Testing

@Suite("Closed forms, the meta-gradient through a step, and the checker itself")
struct SecondOrderTests {
    @Test("d²/dx² x³ = 6x")
    func cubic() {
        let x = Tensor(shape: [3], scalars: [-1.5, 0.5, 2]).requiringGradient()
        let first = gradients(of: (x * x * x).sum(), wrt: [x], createGraph: true)[0]
        #expect(first.requiresGradient)
        let second = gradients(of: first.sum(), wrt: [x])[0]
        for (value, expected) in zip(second.scalars, [-9, 3, 12] as [Float]) {
            #expect(abs(value - expected) < 1e-5)
        }
    }

    @Test("one step on ½aθ², meta-loss ½bθ₁²: derivatives in η and a")
    func quadraticStep() {
        let (thetaValue, aValue, etaValue, b): (Float, Float, Float, Float) = (1.5, 0.8, 0.3, 2)
        let theta = Tensor(thetaValue).requiringGradient()
        let a = Tensor(aValue).requiringGradient()
        let eta = Tensor(etaValue).requiringGradient()
        let inner = 0.5 * a * theta * theta
        let g = gradients(of: inner, wrt: [theta], createGraph: true)[0]
        let theta1 = theta - eta * g
        let meta = 0.5 * b * theta1 * theta1
        let grads = gradients(of: meta, wrt: [eta, a])
        let theta1Value = thetaValue - etaValue * aValue * thetaValue
        #expect(abs(grads[0].item - (-b * theta1Value * aValue * thetaValue)) < 1e-5)
        #expect(abs(grads[1].item - (-b * theta1Value * etaValue * thetaValue)) < 1e-5)
    }

    /// A tiny conv net as a function of its parameter list.
    static func tinyNet(_ x: Tensor, _ p: [Tensor]) -> Tensor {
        let h = maxPool2d(relu(conv2d(x, weight: p[0], bias: p[1], padding: 1)), size: 2)
        return linear(h.reshaped([x.shape[0], -1]), weight: p[2], bias: p[3])
    }

    @Test("meta-gradient through one gradient step matches finite differences")
    func metaGradient() {
        let params = [random([2, 1, 3, 3], seed: 80), random([2], seed: 81, low: -0.1, high: 0.1),
                      random([3, 18], seed: 82, low: -0.5, high: 0.5), random([3], seed: 83, low: -0.1, high: 0.1)]
        let real = random([4, 1, 6, 6], seed: 84)
        let realLabels = [0, 1, 2, 1]
        let syntheticLabels = [0, 2]
        // Inputs: the synthetic images and ρ, with step size softplus(ρ).
        let inputs = [random([2, 1, 6, 6], seed: 85), Tensor(-1.0)]
        func metaLoss(_ xs: [Tensor]) -> Tensor {
            let theta0 = params.map { $0.requiringGradient() }
            let inner = crossEntropy(Self.tinyNet(xs[0], theta0), labels: syntheticLabels)
            let grads = gradients(of: inner, wrt: theta0, createGraph: xs[0].requiresGradient || xs[1].requiresGradient)
            let theta1 = zip(theta0, grads).map { $0 - softplus(xs[1]) * $1 }
            return crossEntropy(Self.tinyNet(real, theta1), labels: realLabels)
        }
        // First order of the meta-loss is what the attack uses; its second order would
        // be third order of the network, beyond what the attack needs.
        let mismatches = GradientCheck().mismatches(inputs, secondOrder: false, metaLoss)
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5).map(\.description))")
        let leaves = inputs.map { $0.requiringGradient() }
        let grads = gradients(of: metaLoss(leaves), wrt: leaves)
        #expect(grads[0].scalars.contains { $0 != 0 }, "the meta-gradient reaches the synthetic images")
        #expect(grads[1].item != 0, "the meta-gradient reaches the step size")
    }

    @Test("the checker flags a VJP that is 3% off")
    func checkerCatchesWrongFirstOrder() {
        let x = random([2, 3], seed: 90)
        let mismatches = GradientCheck().mismatches([x]) { xs in
            customOp(value: (xs[0] * xs[0]).detached(), inputs: [xs[0]]) { c in [c.upstream * xs[0] * 2.06] }
        }
        #expect(mismatches.contains { $0.order == 1 })
    }

    @Test("the checker flags a VJP whose second order is wrong")
    func checkerCatchesWrongSecondOrder() {
        let x = random([2, 3], seed: 91)
        // First order exact, but the detached factor hides x from the backward graph.
        let mismatches = GradientCheck().mismatches([x]) { xs in
            customOp(value: (xs[0] * xs[0]).detached(), inputs: [xs[0]]) { c in [c.upstream * xs[0].detached() * 2] }
        }
        #expect(!mismatches.contains { $0.order == 1 })
        #expect(mismatches.contains { $0.order == 2 })
    }

    @Test("the checker accepts a correct custom op")
    func checkerAcceptsCorrectOp() {
        let x = random([2, 3], seed: 92)
        let mismatches = GradientCheck().mismatches([x]) { xs in
            customOp(value: (xs[0] * xs[0]).detached(), inputs: [xs[0]]) { c in [c.upstream * xs[0] * 2] }
        }
        #expect(mismatches.isEmpty, "\(mismatches.map(\.description))")
    }
}

@Suite("Graph recording")
struct GraphTests {
    @Test("createGraph false records nothing; true records the backward pass")
    func createGraphFlag() {
        let x = random([3], seed: 100).requiringGradient()
        let loss = (exp(x) * x).sum()
        #expect(!gradients(of: loss, wrt: [x])[0].requiresGradient)
        #expect(gradients(of: loss, wrt: [x], createGraph: true)[0].requiresGradient)
    }

    @Test("no ops are recorded without recording, and constants stay constants")
    func withoutRecording() {
        let x = random([3], seed: 101).requiringGradient()
        let y = GradientMode.withoutRecording { exp(x) * 2 }
        #expect(!y.requiresGradient)
        #expect(!(random([3], seed: 102) * 2).requiresGradient)
        #expect(GradientMode.isRecording)
    }

    @Test("a target the loss does not depend on gets a zero gradient")
    func unrelatedTarget() {
        let x = random([3], seed: 103).requiringGradient()
        let unrelated = random([2, 2], seed: 104).requiringGradient()
        let grads = gradients(of: (x * x).sum(), wrt: [x, unrelated])
        #expect(grads[1].shape == [2, 2] && grads[1].scalars.allSatisfy { $0 == 0 })
        #expect(grads[0].scalars == x.scalars.map { 2 * $0 })
    }

    @Test("gradients accumulate over every path to a shared input")
    func sharedInput() {
        let x = Tensor(shape: [2], scalars: [1, 2]).requiringGradient()
        let y = (x * 3 + exp(x) + x).sum()
        let g = gradients(of: y, wrt: [x])[0].scalars
        #expect(abs(g[0] - (4 + Float(2.718281828))) < 1e-5)
        #expect(abs(g[1] - (4 + Float(7.389056099))) < 1e-4)
    }

    @Test("an intermediate tensor can be a target")
    func intermediateTarget() {
        let x = Tensor(shape: [2], scalars: [1, 2]).requiringGradient()
        let h = x * x
        let grads = gradients(of: (h * 5).sum(), wrt: [h, x])
        #expect(grads[0].scalars == [5, 5])
        #expect(grads[1].scalars == [10, 20])
    }
}

@Suite("Max-pool windows")
struct MaxPoolTests {
    @Test("2×2 pooling picks each window's maximum, the first in reading order on ties, as a plain scan does")
    func firstMaximumWins() {
        var rng = SeededGenerator(seed: 21)
        // Values from a small set, so many windows hold ties; width 22 gives 11 windows a row.
        let shape = [2, 3, 6, 22]
        let x = Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Float(Int.random(in: 0..<3, using: &rng)) })
            .requiringGradient()
        let y = maxPool2d(x, size: 2)
        let gradient = gradients(of: y.sum(), wrt: [x])[0].scalars
        var expectedValues: [Float] = [], expectedGradient = [Float](repeating: 0, count: x.count)
        let v = x.scalars
        for plane in 0..<6 {
            for i in 0..<3 {
                for j in 0..<11 {
                    let window = [0, 1, 22, 23].map { plane * 132 + 2 * i * 22 + 2 * j + $0 }
                    let best = window.dropFirst().reduce(window[0]) { v[$1] > v[$0] ? $1 : $0 }
                    expectedValues.append(v[best])
                    expectedGradient[best] = 1
                }
            }
        }
        #expect(y.scalars == expectedValues)
        #expect(gradient == expectedGradient)
    }
}

@Suite("Convolution values")
struct ConvolutionValueTests {
    /// Calls `body(image, outChannel, inChannel, i, j, ki, kj, inputIndex)` for every term
    /// of the convolution's definition; `inputIndex` is nil where the window is on padding.
    func forEachTerm(input: [Int], weight: [Int], stride: Int, padding: Int,
                     _ body: (Int, Int, Int, Int, Int, Int, Int, Int?) -> Void) {
        let (n, c, h, wd) = (input[0], input[1], input[2], input[3])
        let (o, kh, kw) = (weight[0], weight[2], weight[3])
        let (oh, ow) = ((h + 2 * padding - kh) / stride + 1, (wd + 2 * padding - kw) / stride + 1)
        for image in 0..<n {
            for channel in 0..<o {
                for i in 0..<oh {
                    for j in 0..<ow {
                        for ci in 0..<c {
                            for ki in 0..<kh {
                                for kj in 0..<kw {
                                    let (r, col) = (i * stride + ki - padding, j * stride + kj - padding)
                                    let inside = (0..<h).contains(r) && (0..<wd).contains(col)
                                    body(image, channel, ci, i, j, ki, kj, inside ? ((image * c + ci) * h + r) * wd + col : nil)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Every kernel set (`ConvolutionKernels`: the direct kernels with AVX2 on this CPU
    /// and with their portable loops, and im2col with GEMM) on LeNet's geometries (pad 2
    /// and pad 0), odd widths with tails, stride 2 and more than 16 channels (where every
    /// set runs im2col), kernels of unequal sides, one output channel (the direct
    /// kernels' four-row blocks), five (a partial six-channel block) and sixteen input
    /// channels; batches of two to four cross image boundaries and the weight gradient's
    /// chunks of images.
    @Test("conv2d and its weight and input gradients equal their direct sums", arguments: [
        ([3, 1, 28, 28], [6, 1, 5, 5], 1, 2), ([3, 6, 14, 14], [16, 6, 5, 5], 1, 0),
        ([3, 2, 9, 11], [4, 2, 3, 5], 1, 1), ([3, 2, 9, 8], [3, 2, 3, 3], 2, 1),
        ([2, 1, 30, 31], [2, 1, 3, 3], 1, 0), ([2, 16, 7, 9], [1, 16, 3, 3], 1, 2),
        ([4, 5, 6, 13], [5, 5, 5, 2], 1, 1), ([2, 17, 5, 5], [2, 17, 3, 3], 1, 1),
    ], ConvolutionKernels.allCases)
    func matchesDirectSum(_ geometry: ([Int], [Int], Int, Int), kernels: ConvolutionKernels) {
        let (input, weight, stride, padding) = geometry
        let x = random(input, seed: 70).requiringGradient(), w = random(weight, seed: 71).requiringGradient()
        let b = random([weight[0]], seed: 72)
        let y = conv2d(x, weight: w, bias: b, stride: stride, padding: padding, kernels: kernels)
        let upstream = random(y.shape, seed: 73)
        let grads = gradients(of: (y * upstream).sum(), wrt: [w, x])
        let (weightGradient, inputGradient) = (grads[0].scalars, grads[1].scalars)

        let (oh, ow) = (y.shape[2], y.shape[3])
        let (xs, ws, bs, us) = (x.scalars, w.scalars, b.scalars, upstream.scalars)
        var expected = [Double](repeating: 0, count: y.count), expectedGradient = [Double](repeating: 0, count: w.count)
        var expectedInputGradient = [Double](repeating: 0, count: x.count)
        forEachTerm(input: input, weight: weight, stride: stride, padding: padding) { image, o, c, i, j, ki, kj, index in
            let out = ((image * weight[0] + o) * oh + i) * ow + j
            let weightIndex = ((o * weight[1] + c) * weight[2] + ki) * weight[3] + kj
            if c == 0 && ki == 0 && kj == 0 { expected[out] += Double(bs[o]) }
            guard let index else { return }
            expected[out] += Double(xs[index]) * Double(ws[weightIndex])
            expectedGradient[weightIndex] += Double(xs[index]) * Double(us[out])
            expectedInputGradient[index] += Double(ws[weightIndex]) * Double(us[out])
        }
        let worst = zip(y.scalars, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
        let worstGradient = zip(weightGradient, expectedGradient).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(y.count == expected.count && worst < 1e-4, "largest difference \(worst)")
        let worstInput = zip(inputGradient, expectedInputGradient).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(worstGradient < 1e-3, "largest weight-gradient difference \(worstGradient)")
        #expect(worstInput < 1e-4, "largest input-gradient difference \(worstInput)")
    }
}

@Suite("Convolution kernel sets agree")
struct ConvolutionKernelTests {
    /// LeNet's two convolutions with max-pools and ReLUs on a batch of three, the
    /// attack's shape of computation: the gradient of the squared weight gradient with
    /// respect to the images (second order through all three convolution ops and their
    /// VJPs), on each kernel set, against im2col with GEMM.
    @Test("LeNet's layers: values, gradients and second-order gradients match im2col and GEMM",
          arguments: [ConvolutionKernels.automatic, .portable])
    func matchesLowered(_ kernels: ConvolutionKernels) {
        let x = random([3, 1, 28, 28], seed: 90)
        let params = [random([6, 1, 5, 5], seed: 91, low: -0.3, high: 0.3), random([6], seed: 92, low: -0.1, high: 0.1),
                      random([16, 6, 5, 5], seed: 93, low: -0.2, high: 0.2), random([16], seed: 94, low: -0.1, high: 0.1)]
        func run(_ kernels: ConvolutionKernels) -> [[Float]] {
            let images = x.requiringGradient(), theta = params.map { $0.requiringGradient() }
            var h = relu(maxPool2d(conv2d(images, weight: theta[0], bias: theta[1], padding: 2, kernels: kernels), size: 2))
            h = relu(maxPool2d(conv2d(h, weight: theta[2], bias: theta[3], kernels: kernels), size: 2))
            let loss = (h * h).sum()
            let first = gradients(of: loss, wrt: theta, createGraph: true)
            let second = gradients(of: first.map { ($0 * $0).sum() }.reduce(Tensor(0), +), wrt: [images])
            return [h.scalars] + first.map(\.scalars) + [second[0].scalars]
        }
        let (expected, actual) = (run(.lowered), run(kernels))
        for (index, (want, got)) in zip(expected, actual).enumerated() {
            let scale = max(1, want.map(abs).max() ?? 0)
            let worst = zip(want, got).map { abs($0 - $1) }.max() ?? .infinity
            #expect(want.count == got.count && worst <= 1e-4 * scale, "result \(index): largest difference \(worst) at scale \(scale)")
        }
    }
}
