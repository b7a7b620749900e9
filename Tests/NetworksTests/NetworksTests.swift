import Autodiff
import Networks
import Testing

@Suite("Architectures")
struct ArchitectureTests {
    @Test("LeNet has Dataset Distillation's layers, PyTorch names and 61,706 parameters on 1×28×28")
    func lenetLayout() throws {
        let net = try LeNet(inputShape: [1, 28, 28], classes: 10)
        #expect(net.parameterSpecs.map(\.name) == [
            "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
            "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"])
        #expect(net.parameterSpecs[0].shape == [6, 1, 5, 5])
        #expect(net.parameterSpecs[4].shape == [120, 400])
        #expect(net.parameterCount == 61_706)
        var rng = SeededGenerator(seed: 1)
        let p = net.initialParameters(using: &rng)
        #expect(net.logits(.randomNormal([3, 1, 28, 28], using: &rng), p).shape == [3, 10])
        #expect(try LeNet(inputShape: [3, 32, 32], classes: 10).parameterSpecs[4].shape == [120, 400])
        #expect(throws: NetworkError.self) { try LeNet(inputShape: [1, 20, 20], classes: 10) }
    }

    @Test("MLP and ConvNet produce logits of the right shape")
    func otherShapes() throws {
        var rng = SeededGenerator(seed: 2)
        let x = Tensor.randomNormal([2, 1, 28, 28], using: &rng)
        let mlp = MLP(inputShape: [1, 28, 28], classes: 10)
        #expect(mlp.logits(x, mlp.initialParameters(using: &rng)).shape == [2, 10])
        let convnet = try ConvNet(inputShape: [1, 28, 28], classes: 10, width: 8)
        #expect(convnet.parameterSpecs.map(\.name).suffix(2) == ["classifier.weight", "classifier.bias"])
        #expect(convnet.parameterSpecs.last(where: { $0.name == "classifier.weight" })?.shape == [10, 8 * 3 * 3])
        #expect(convnet.logits(x, convnet.initialParameters(using: &rng)).shape == [2, 10])
    }

    @Test("AlexCifarNet takes 32×32 colour images with Dataset Distillation's layout")
    func alexCifarNet() throws {
        let net = try AlexCifarNet(inputShape: [3, 32, 32], classes: 10)
        #expect(net.parameterSpecs.map(\.name).first == "features.0.weight")
        #expect(net.parameterSpecs[4].shape == [384, 4096])
        var rng = SeededGenerator(seed: 9)
        let p = net.initialParameters(using: &rng)
        #expect(net.logits(.randomNormal([2, 3, 32, 32], using: &rng), p).shape == [2, 10])
        #expect(throws: NetworkError.self) { try AlexCifarNet(inputShape: [1, 28, 28], classes: 10) }
    }

    @Test("architectures are found by name, and an unknown name lists the choices")
    func byName() throws {
        #expect(try Architecture(named: "LeNet") == .lenet)
        #expect(throws: NetworkError.unknownArchitecture("resnet")) { try Architecture(named: "resnet") }
        #expect(NetworkError.unknownArchitecture("resnet").description.contains("lenet, mlp, convnet, alexcifarnet"))
    }

    @Test("parameter validation names the mismatched tensor")
    func validation() throws {
        let net = try LeNet(inputShape: [1, 28, 28], classes: 10)
        var rng = SeededGenerator(seed: 3)
        var p = net.initialParameters(using: &rng)
        try net.validate(p)
        p[2] = .zeros([16, 6, 3, 3])
        #expect(throws: NetworkError.shape(name: "conv2.weight", expected: [16, 6, 5, 5], got: [16, 6, 3, 3])) {
            try net.validate(p)
        }
    }
}

@Suite("Instance norm, initializers and optimizers")
struct BuildingBlockTests {
    @Test("instance norm passes first- and second-order gradient checks")
    func instanceNormGradients() {
        var rng = SeededGenerator(seed: 4)
        let inputs = [Tensor.randomNormal([2, 2, 3, 3], using: &rng),
                      Tensor.randomNormal([2], using: &rng), Tensor.randomNormal([2], using: &rng)]
        let mismatches = GradientCheck().mismatches(inputs) { instanceNorm($0[0], scale: $0[1], shift: $0[2]) }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3).map(\.description))")
    }

    @Test("local response normalization passes first- and second-order gradient checks")
    func lrnGradients() {
        var rng = SeededGenerator(seed: 10)
        let x = Tensor.randomNormal([2, 5, 2, 2], using: &rng)
        let mismatches = GradientCheck().mismatches([x]) { localResponseNorm($0[0], size: 4, alpha: 0.5, beta: 0.75, k: 1) }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3).map(\.description))")
    }

    @Test("local response normalization matches the formula at one element")
    func lrnValue() {
        let x = Tensor(shape: [1, 3, 1, 1], scalars: [1, 2, 3])
        // Channel 1 with size 2 averages channels 0 and 1: (1 + 4) / 2.
        let y = localResponseNorm(x, size: 2, alpha: 0.4, beta: 0.5, k: 1).scalars[1]
        #expect(abs(y - 2 / (1 + 0.4 * 2.5).squareRoot()) < 1e-5)
    }

    @Test("a whole LeNet's logits pass a first-order check in a few parameters")
    func lenetGradients() throws {
        let net = try LeNet(inputShape: [1, 28, 28], classes: 10)
        var rng = SeededGenerator(seed: 5)
        let p = net.initialParameters(using: &rng)
        let x = Tensor.randomNormal([2, 1, 28, 28], using: &rng)
        // The small last layers keep finite differences cheap; the convolutions feed them.
        let mismatches = GradientCheck().mismatches([p[7], p[9]], secondOrder: true) { q in
            var all = p
            (all[7], all[9]) = (q[0], q[1])
            return crossEntropy(net.logits(x, all), labels: [3, 7]) * Tensor(1)
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3).map(\.description))")
    }

    @Test("LeNet's ReLU-after-pool equals the usual pool-after-ReLU in values, gradients and second order")
    func lenetPoolOrder() throws {
        let net = try LeNet(inputShape: [1, 28, 28], classes: 10)
        var rng = SeededGenerator(seed: 8)
        let p = net.initialParameters(using: &rng).map { $0.requiringGradient() }
        let x = Tensor.randomNormal([3, 1, 28, 28], using: &rng)
        func usual(_ p: [Tensor]) -> Tensor {
            var h = maxPool2d(relu(conv2d(x, weight: p[0], bias: p[1], padding: 2)), size: 2)
            h = maxPool2d(relu(conv2d(h, weight: p[2], bias: p[3])), size: 2)
            h = relu(linear(h.reshaped([3, 400]), weight: p[4], bias: p[5]))
            return linear(relu(linear(h, weight: p[6], bias: p[7])), weight: p[8], bias: p[9])
        }
        // The squared gradient norm makes its gradient a Hessian-vector product: second order.
        func secondOrder(_ logits: ([Tensor]) -> Tensor) -> (Tensor, [Tensor]) {
            let y = logits(p)
            let g = gradients(of: crossEntropy(y, labels: [1, 4, 9]), wrt: p, createGraph: true)
            let norm = g.dropFirst().reduce((g[0] * g[0]).sum()) { $0 + ($1 * $1).sum() }
            return (y, gradients(of: norm, wrt: p))
        }
        let (reordered, hvp) = secondOrder { net.logits(x, $0) }
        let (reference, expected) = secondOrder(usual)
        #expect(reordered.scalars == reference.scalars)
        for (a, b) in zip(hvp, expected) {
            #expect(zip(a.scalars, b.scalars).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        }
    }

    @Test("PyTorch-default bounds by layer fan-in, Xavier-normal spread, norm layers at identity")
    func initializers() throws {
        var rng = SeededGenerator(seed: 6)
        let lenet = try LeNet(inputShape: [1, 28, 28], classes: 10)
        let p = lenet.initialParameters(.pytorchDefault, using: &rng)
        #expect(p[4].scalars.allSatisfy { abs($0) <= 1 / Float(400).squareRoot() })
        #expect(p[5].scalars.allSatisfy { abs($0) <= 1 / Float(400).squareRoot() })
        #expect(p[5].scalars.contains { $0 != 0 })
        let x = lenet.initialParameters(.xavierNormal, using: &rng)
        let std = (x[4].scalars.map { $0 * $0 }.reduce(0, +) / Float(x[4].count)).squareRoot()
        #expect(abs(std - (2 / Float(520)).squareRoot()) < 0.002)
        #expect(x[5].scalars.allSatisfy { $0 == 0 })
        let convnet = try ConvNet(inputShape: [1, 28, 28], classes: 10, width: 4)
        let c = convnet.initialParameters(using: &rng)
        #expect(c[2].scalars == [1, 1, 1, 1] && c[3].scalars == [0, 0, 0, 0])
    }

    @Test("SGD with momentum and weight decay follows PyTorch's update")
    func sgd() {
        var sgd = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        var theta = [Tensor(shape: [2], scalars: [1, -2])]
        let g = [Tensor(shape: [2], scalars: [0.5, 0.25])]
        theta = sgd.step(theta, g)
        // v = g + λθ = [0.51, 0.23]; θ = θ − 0.1 v
        #expect(zip(theta[0].scalars, [0.949, -2.023] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 })
        theta = sgd.step(theta, g)
        // v = 0.9 v + g + λθ
        let v: [Float] = [0.9 * 0.51 + 0.5 + 0.00949, 0.9 * 0.23 + 0.25 - 0.02023]
        #expect(zip(theta[0].scalars, [0.949 - 0.1 * v[0], -2.023 - 0.1 * v[1]]).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test("Adam's first step moves each parameter by the learning rate against its gradient's sign")
    func adam() {
        var adam = Adam(learningRate: 0.01)
        let theta = adam.step([Tensor(shape: [3], scalars: [1, 2, 3])], [Tensor(shape: [3], scalars: [0.3, -4, 0.001])])
        #expect(zip(theta[0].scalars, [0.99, 2.01, 2.99] as [Float]).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    @Test("a LeNet learns a separable toy problem with SGD")
    func learns() throws {
        let net = try LeNet(inputShape: [1, 28, 28], classes: 2)
        var rng = SeededGenerator(seed: 8)
        var p = net.initialParameters(using: &rng)
        // Class 1 is bright in the top half, class 0 in the bottom half.
        let labels = (0..<32).map { $0 % 2 }
        let x = Tensor(shape: [32, 1, 28, 28]) { out in
            for n in 0..<32 {
                for i in 0..<784 { out[n * 784 + i] = (i < 392) == (labels[n] == 1) ? 1 : -1 }
            }
        }
        var sgd = SGD(learningRate: 0.05, momentum: 0.9)
        let first = crossEntropy(net.logits(x, p), labels: labels).item
        for _ in 0..<20 {
            let leaves = p.map { $0.requiringGradient() }
            let loss = crossEntropy(net.logits(x, leaves), labels: labels)
            p = sgd.step(p, gradients(of: loss, wrt: leaves))
        }
        #expect(crossEntropy(net.logits(x, p), labels: labels).item < first * 0.2)
        #expect(net.predictions(x, p) == labels)
    }
}
