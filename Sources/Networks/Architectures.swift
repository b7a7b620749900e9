import Autodiff

/// The architectures Amnesia builds by name.
public enum Architecture: String, CaseIterable, Codable, Sendable {
    case lenet, mlp, convnet, alexcifarnet

    /// The classifier for inputs [channels, height, width] and `classes` outputs.
    public func make(inputShape: [Int], classes: Int) throws(NetworkError) -> any Classifier {
        switch self {
        case .lenet: try LeNet(inputShape: inputShape, classes: classes)
        case .mlp: MLP(inputShape: inputShape, classes: classes)
        case .convnet: try ConvNet(inputShape: inputShape, classes: classes)
        case .alexcifarnet: try AlexCifarNet(inputShape: inputShape, classes: classes)
        }
    }

    public init(named name: String) throws(NetworkError) {
        guard let value = Architecture(rawValue: name.lowercased()) else { throw .unknownArchitecture(name) }
        self = value
    }
}

/// LeNet as in Dataset Distillation: conv1 (6, 5×5, padding 2 on 28×28 inputs), max-pool
/// 2, conv2 (16, 5×5), max-pool 2, fc 400→120→84→classes, ReLU.
public struct LeNet: Classifier {
    public let name = "lenet"
    public let inputShape: [Int]
    public let classes: Int
    public let parameterSpecs: [ParameterSpec]
    let padding: Int

    public init(inputShape: [Int], classes: Int) throws(NetworkError) {
        guard inputShape.count == 3, [28, 32].contains(inputShape[1]), inputShape[1] == inputShape[2] else {
            throw .unsupportedInput(architecture: "lenet", shape: inputShape, reason: "expects [C, 28, 28] or [C, 32, 32]")
        }
        self.inputShape = inputShape
        self.classes = classes
        padding = inputShape[1] == 28 ? 2 : 0
        parameterSpecs = [
            ParameterSpec("conv1.weight", [6, inputShape[0], 5, 5]), ParameterSpec("conv1.bias", [6]),
            ParameterSpec("conv2.weight", [16, 6, 5, 5]), ParameterSpec("conv2.bias", [16]),
            ParameterSpec("fc1.weight", [120, 400]), ParameterSpec("fc1.bias", [120]),
            ParameterSpec("fc2.weight", [84, 120]), ParameterSpec("fc2.bias", [84]),
            ParameterSpec("fc3.weight", [classes, 84]), ParameterSpec("fc3.bias", [classes]),
        ]
    }

    /// ReLU after the max-pool, not before as usually written: max is monotone, so the
    /// values and gradients of every order are the same, on a quarter of the elements.
    public func features(_ x: Tensor, _ p: [Tensor]) -> Tensor {
        var h = relu(maxPool2d(conv2d(x, weight: p[0], bias: p[1], padding: padding), size: 2))
        h = relu(maxPool2d(conv2d(h, weight: p[2], bias: p[3]), size: 2))
        h = relu(linear(h.reshaped([x.shape[0], 400]), weight: p[4], bias: p[5]))
        return relu(linear(h, weight: p[6], bias: p[7]))
    }
}

/// A multilayer perceptron on flattened inputs: fc1 … fcN with ReLU between.
public struct MLP: Classifier {
    public let name = "mlp"
    public let inputShape: [Int]
    public let classes: Int
    public let parameterSpecs: [ParameterSpec]

    public init(inputShape: [Int], classes: Int, hidden: [Int] = [256, 128]) {
        self.inputShape = inputShape
        self.classes = classes
        let widths = [inputShape.reduce(1, *)] + hidden + [classes]
        parameterSpecs = (1..<widths.count).flatMap { i in
            [ParameterSpec("fc\(i).weight", [widths[i], widths[i - 1]]), ParameterSpec("fc\(i).bias", [widths[i]])]
        }
    }

    public func features(_ x: Tensor, _ p: [Tensor]) -> Tensor {
        var h = x.reshaped([x.shape[0], -1])
        for layer in stride(from: 0, to: p.count - 2, by: 2) {
            h = relu(linear(h, weight: p[layer], bias: p[layer + 1]))
        }
        return h
    }
}

/// The standard distillation ConvNet: three blocks of conv 3×3 (width 128, padding 1),
/// instance norm with affine parameters, ReLU and average-pool 2, then a linear layer.
/// Names follow the usual `nn.Sequential` layout (features.0, features.1, …, classifier).
public struct ConvNet: Classifier {
    public let name = "convnet"
    public let inputShape: [Int]
    public let classes: Int
    public let parameterSpecs: [ParameterSpec]
    public let width: Int

    public init(inputShape: [Int], classes: Int, width: Int = 128, depth: Int = 3) throws(NetworkError) {
        guard inputShape.count == 3, inputShape[1] >> depth > 0, inputShape[2] >> depth > 0 else {
            throw .unsupportedInput(architecture: "convnet", shape: inputShape, reason: "needs [C, H, W] with H, W ≥ \(1 << depth)")
        }
        self.inputShape = inputShape
        self.classes = classes
        self.width = width
        var specs: [ParameterSpec] = []
        for block in 0..<depth {
            let index = block * 4
            specs += [ParameterSpec("features.\(index).weight", [width, block == 0 ? inputShape[0] : width, 3, 3]),
                      ParameterSpec("features.\(index).bias", [width]),
                      ParameterSpec("features.\(index + 1).weight", [width]),
                      ParameterSpec("features.\(index + 1).bias", [width])]
        }
        let features = width * (inputShape[1] >> depth) * (inputShape[2] >> depth)
        specs += [ParameterSpec("classifier.weight", [classes, features]), ParameterSpec("classifier.bias", [classes])]
        parameterSpecs = specs
    }

    public func features(_ x: Tensor, _ p: [Tensor]) -> Tensor {
        var h = x
        for block in 0..<((p.count - 2) / 4) {
            let q = Array(p[(block * 4)..<(block * 4 + 4)])
            h = conv2d(h, weight: q[0], bias: q[1], padding: 1)
            h = avgPool2d(relu(instanceNorm(h, scale: q[2], shift: q[3])), size: 2)
        }
        return h.reshaped([x.shape[0], -1])
    }
}

/// Local response normalization across channels, as PyTorch's `LocalResponseNorm`:
/// x / (k + α · mean of x² over `size` neighbouring channels)^β. The channel window sum
/// is a product with a banded 0/1 matrix, so it is built from differentiable ops.
public func localResponseNorm(_ x: Tensor, size: Int, alpha: Float, beta: Float, k: Float) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    // Channel c averages channels c − size/2 … c + (size − 1)/2, as PyTorch pads.
    let band = Tensor(shape: [c, c]) { out in
        for i in 0..<c {
            for j in 0..<c { out[i * c + j] = (j >= i - size / 2 && j <= i + (size - 1) / 2) ? 1 : 0 }
        }
    }
    let squares = (x * x).permuted([1, 0, 2, 3]).reshaped([c, n * h * w])
    let windowSums = matmul(band, squares).reshaped([c, n, h, w]).permuted([1, 0, 2, 3])
    return x * exp(log(k + windowSums * (alpha / Float(size))) * -beta)
}

/// AlexCifarNet as in Dataset Distillation, for 32×32 colour images: two blocks of conv
/// 5×5 (64), ReLU, max-pool 3/2 (padding 1) and local response normalization, then fully
/// connected 4096 → 384 → 192 → classes. Names follow its `nn.Sequential` layout.
public struct AlexCifarNet: Classifier {
    public let name = "alexcifarnet"
    public let inputShape: [Int]
    public let classes: Int
    public let parameterSpecs: [ParameterSpec]

    public init(inputShape: [Int], classes: Int) throws(NetworkError) {
        guard inputShape.count == 3, inputShape[1] == 32, inputShape[2] == 32 else {
            throw .unsupportedInput(architecture: "alexcifarnet", shape: inputShape, reason: "expects [C, 32, 32]")
        }
        self.inputShape = inputShape
        self.classes = classes
        parameterSpecs = [
            ParameterSpec("features.0.weight", [64, inputShape[0], 5, 5]), ParameterSpec("features.0.bias", [64]),
            ParameterSpec("features.4.weight", [64, 64, 5, 5]), ParameterSpec("features.4.bias", [64]),
            ParameterSpec("classifier.0.weight", [384, 4096]), ParameterSpec("classifier.0.bias", [384]),
            ParameterSpec("classifier.2.weight", [192, 384]), ParameterSpec("classifier.2.bias", [192]),
            ParameterSpec("classifier.4.weight", [classes, 192]), ParameterSpec("classifier.4.bias", [classes]),
        ]
    }

    public func features(_ x: Tensor, _ p: [Tensor]) -> Tensor {
        func lrn(_ t: Tensor) -> Tensor { localResponseNorm(t, size: 4, alpha: 0.001 / 9, beta: 0.75, k: 1) }
        var h = lrn(maxPool2d(relu(conv2d(x, weight: p[0], bias: p[1], padding: 2)), size: 3, stride: 2, padding: 1))
        h = maxPool2d(lrn(relu(conv2d(h, weight: p[2], bias: p[3], padding: 2))), size: 3, stride: 2, padding: 1)
        h = relu(linear(h.reshaped([x.shape[0], 4096]), weight: p[4], bias: p[5]))
        return relu(linear(h, weight: p[6], bias: p[7]))
    }
}
