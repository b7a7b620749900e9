import Autodiff
import Foundation
import Networks
import ONNX
import Testing

/// One op (or a few) in a graph a test builds: the nodes from "image" to "h", and the
/// same computation written directly with Amnesia's ops.
struct OpGraphCase: Sendable, CustomTestStringConvertible {
    let name: String
    let inputShape: [Int]
    let build: @Sendable (inout GraphBuilder) -> Void
    let reference: @Sendable (Tensor, [Tensor]) -> Tensor
    /// Parameters that get no gradient (batch norm's running statistics).
    var frozen: Set<Int> = []
    var testDescription: String { name }
}

let opGraphCases: [OpGraphCase] = [
    OpGraphCase(name: "Conv: 2 groups, stride 2, unequal pads, bias", inputShape: [4, 5, 5], build: { b in
        b.floats("w", random([4, 2, 3, 3], seed: 2)); b.floats("b", random([4], seed: 3))
        b.node("Conv", ["image", "w", "b"], ["h"], [attribute("group", int: 2), attribute("strides", ints: [2, 2]),
                                                   attribute("pads", ints: [1, 0, 2, 1]), attribute("kernel_shape", ints: [3, 3])])
    }, reference: { x, p in conv2d(x, weight: p[0], bias: p[1], stride: 2, pads: (1, 0, 2, 1), dilation: 1, groups: 2) }),
    OpGraphCase(name: "Conv: dilation 2, no bias", inputShape: [1, 6, 6], build: { b in
        b.floats("w", random([2, 1, 2, 2], seed: 4))
        b.node("Conv", ["image", "w"], ["h"], [attribute("dilations", ints: [2, 2]), attribute("pads", ints: [1, 1, 1, 1])])
    }, reference: { x, p in conv2d(x, weight: p[0], bias: nil, stride: 1, pads: (1, 1, 1, 1), dilation: 2, groups: 1) }),
    OpGraphCase(name: "Gemm: alpha, beta, C", inputShape: [1, 2, 3], build: { b in
        b.floats("w", random([6, 4], seed: 5)); b.floats("c", random([4], seed: 6))
        b.node("Flatten", ["image"], ["f"])
        b.node("Gemm", ["f", "w", "c"], ["h"], [attribute("alpha", float: 0.5), attribute("beta", float: 2)])
    }, reference: { x, p in matmul(x.reshaped([x.shape[0], 6]), p[0]) * 0.5 + p[1] * 2 }),
    OpGraphCase(name: "Gemm: transA of a transposed batch", inputShape: [1, 3, 2], build: { b in
        b.floats("w", random([6, 4], seed: 7))
        b.node("Flatten", ["image"], ["f"])
        b.node("Transpose", ["f"], ["t"])
        b.node("Gemm", ["t", "w"], ["h"], [attribute("transA", int: 1)])
    }, reference: { x, p in matmul(x.reshaped([x.shape[0], 6]), p[0]) }),
    OpGraphCase(name: "MatMul", inputShape: [1, 2, 3], build: { b in
        b.floats("w", random([6, 5], seed: 8))
        b.node("Flatten", ["image"], ["f"])
        b.node("MatMul", ["f", "w"], ["h"])
    }, reference: { x, p in matmul(x.reshaped([x.shape[0], 6]), p[0]) }),
    OpGraphCase(name: "Add, Sub, Mul, Div with per-channel initializers", inputShape: [2, 3, 3], build: { b in
        for (i, name) in ["a", "s", "m"].enumerated() { b.floats(name, random([1, 2, 1, 1], seed: UInt64(10 + i))) }
        b.floats("d", random([2, 1, 1], seed: 13, low: 0.5, high: 2))
        b.node("Add", ["image", "a"], ["t1"]); b.node("Sub", ["t1", "s"], ["t2"])
        b.node("Mul", ["t2", "m"], ["t3"]); b.node("Div", ["t3", "d"], ["h"])
    }, reference: { x, p in ((x + p[0]) - p[1]) * p[2] / p[3] }),
    OpGraphCase(name: "Relu, LeakyRelu, Sigmoid, Tanh", inputShape: [2, 3, 3], build: { b in
        b.node("Relu", ["image"], ["r"]); b.node("LeakyRelu", ["image"], ["l"], [attribute("alpha", float: 0.2)])
        b.node("Sigmoid", ["image"], ["s"]); b.node("Tanh", ["image"], ["t"])
        b.node("Add", ["r", "l"], ["rl"]); b.node("Mul", ["s", "t"], ["st"]); b.node("Add", ["rl", "st"], ["h"])
    }, reference: { x, _ in relu(x) + leakyRelu(x, slope: 0.2) + sigmoid(x) * tanh(x) }),
    OpGraphCase(name: "MaxPool 3, stride 2, pads 1", inputShape: [2, 5, 5], build: { b in
        b.node("MaxPool", ["image"], ["h"], [attribute("kernel_shape", ints: [3, 3]), attribute("strides", ints: [2, 2]), attribute("pads", ints: [1, 1, 1, 1])])
    }, reference: { x, _ in maxPool2d(x, size: 3, stride: 2, padding: 1) }),
    OpGraphCase(name: "AveragePool 3, stride 1, pads 1 (padding counted)", inputShape: [2, 4, 4], build: { b in
        b.node("AveragePool", ["image"], ["h"], [attribute("kernel_shape", ints: [3, 3]), attribute("pads", ints: [1, 1, 1, 1]), attribute("count_include_pad", int: 1)])
    }, reference: { x, _ in avgPool2d(zeroPadded(x, top: 1, left: 1, bottom: 1, right: 1), size: 3, stride: 1) }),
    OpGraphCase(name: "GlobalAveragePool", inputShape: [3, 4, 4], build: { b in
        b.node("GlobalAveragePool", ["image"], ["h"])
    }, reference: { x, _ in x.mean(alongAxes: [2, 3], keepingDims: true) }),
    OpGraphCase(name: "BatchNormalization (eval)", inputShape: [3, 3, 3], build: { b in
        b.floats("bn.weight", random([3], seed: 20, low: 0.5, high: 1.5)); b.floats("bn.bias", random([3], seed: 21))
        b.floats("bn.running_mean", random([3], seed: 22)); b.floats("bn.running_var", random([3], seed: 23, low: 0.5, high: 2))
        b.node("BatchNormalization", ["image", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"], ["h"], [attribute("epsilon", float: 1e-3)])
    }, reference: { x, p in batchNorm(x, scale: p[0], shift: p[1], mean: p[2], variance: p[3], epsilon: 1e-3) }, frozen: [2, 3]),
    OpGraphCase(name: "Reshape (0 copies a dimension) and Transpose", inputShape: [2, 3, 3], build: { b in
        b.ints("shape", [0, 6, -1])
        b.node("Reshape", ["image", "shape"], ["r"])
        b.node("Transpose", ["r"], ["h"], [attribute("perm", ints: [0, 2, 1])])
    }, reference: { x, _ in x.reshaped([x.shape[0], 6, 3]).permuted([0, 2, 1]) }),
    OpGraphCase(name: "Concat of a branch and its input", inputShape: [2, 3, 3], build: { b in
        b.floats("w", random([1, 2, 1, 1], seed: 24))
        b.node("Mul", ["image", "w"], ["m"]); b.node("Sigmoid", ["m"], ["s"])
        b.node("Concat", ["s", "image"], ["h"], [attribute("axis", int: 1)])
    }, reference: { x, p in concatenated([sigmoid(x * p[0]), x], axis: 1) }),
    OpGraphCase(name: "Identity and Dropout", inputShape: [2, 2, 2], build: { b in
        b.floats("w", random([1, 2, 1, 1], seed: 25))
        b.node("Identity", ["image"], ["i"]); b.node("Dropout", ["i"], ["d"]); b.node("Mul", ["d", "w"], ["h"])
    }, reference: { x, p in x * p[0] }),
    OpGraphCase(name: "Shape, Gather, Unsqueeze, Concat, Reshape (x.view(x.size(0), -1))", inputShape: [2, 2, 3], build: { b in
        b.ints("zero", [0]); b.ints("minus one", [-1])
        b.node("Shape", ["image"], ["shape"])
        b.node("Gather", ["shape", "zero"], ["n"], [attribute("axis", int: 0)])
        b.node("Concat", ["n", "minus one"], ["target"], [attribute("axis", int: 0)])
        b.node("Reshape", ["image", "target"], ["h"])
    }, reference: { x, _ in x.reshaped([x.shape[0], -1]) }),
]

@Suite("ONNX graphs built by the tests, one op at a time")
struct OpGraphTests {
    /// The case's graph with a flattening linear head to 3 logits, its classifier, and its
    /// parameters (the head's weight last).
    private func classifier(_ c: OpGraphCase, input x: Tensor) throws -> (OnnxClassifier, [Tensor]) {
        var b = GraphBuilder(inputShape: c.inputShape)
        c.build(&b)
        let features = c.reference(x, b.parameters).shape.dropFirst().reduce(1, *)
        b.floats("head.weight", random([3, features], seed: 99))
        b.node("Flatten", ["h"], ["flat"])
        b.node("Gemm", ["flat", "head.weight"], ["logits"], [attribute("transB", int: 1)])
        return (OnnxClassifier(model: try b.model()), b.parameters)
    }

    /// Inputs at least 0.1 away from ReLU's kink, so finite differences stay on one side.
    private func input(_ c: OpGraphCase) -> Tensor {
        let u = random([2] + c.inputShape, seed: 1)
        return Tensor(shape: u.shape, scalars: u.scalars.map { $0 + ($0 < 0 ? -0.1 : 0.1) })
    }

    @Test("logits equal the same computation written with Amnesia's ops", arguments: opGraphCases)
    func matchesReference(_ c: OpGraphCase) throws {
        let x = input(c)
        let (net, p) = try classifier(c, input: x)
        let head = p[p.count - 1]
        let expected = matmul(c.reference(x, Array(p.dropLast())).reshaped([2, -1]), head, transposeB: true)
        #expect(maxDifference(net.logits(x, p), expected) < 1e-5)
        #expect(net.classes == 3 && net.inputShape == c.inputShape)
    }

    @Test("first and second derivatives through the graph match finite differences", arguments: opGraphCases)
    func gradients(_ c: OpGraphCase) throws {
        let x = input(c)
        let (net, p) = try classifier(c, input: x)
        let free = p.indices.filter { !c.frozen.contains($0) }
        let mismatches = GradientCheck().mismatches([x] + free.map { p[$0] }) { t in
            var q = p
            for (k, i) in free.enumerated() { q[i] = t[k + 1] }
            return net.logits(t[0], q)
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5).map(\.description).joined(separator: "; "))")
    }

    @Test("a final Softmax or LogSoftmax is left off: the logits are its input")
    func softmaxAtOutput() throws {
        for op in ["Softmax", "LogSoftmax"] {
            var b = GraphBuilder(inputShape: [1, 2, 2])
            b.floats("w", random([3, 4], seed: 30))
            b.node("Flatten", ["image"], ["f"])
            b.node("Gemm", ["f", "w"], ["z"], [attribute("transB", int: 1)])
            b.node(op, ["z"], ["logits"], [attribute("axis", int: 1)])
            let x = random([2, 1, 2, 2], seed: 31)
            let net = OnnxClassifier(model: try b.model())
            #expect(maxDifference(net.logits(x, b.parameters), matmul(x.reshaped([2, 4]), b.parameters[0], transposeB: true)) < 1e-6)
        }
    }
}

@Suite("ONNX graphs Amnesia cannot run are refused with one error naming every node")
struct OnnxRefusalTests {
    @Test("every unsupported op and attribute is named with its position and the supported list")
    func unsupportedNodes() throws {
        var b = GraphBuilder(inputShape: [1, 4, 4])
        b.floats("w", random([2, 1, 3, 3], seed: 40))
        b.node("Conv", ["image", "w"], ["c"], [attribute("strides", ints: [1, 2])], name: "/conv")
        b.node("Resize", ["c"], ["r"], name: "/resize")
        b.node("Softmax", ["r"], ["s"], name: "/middle_softmax")
        b.node("MaxPool", ["s"], ["m"], [attribute("kernel_shape", ints: [2, 2]), attribute("ceil_mode", int: 1)], name: "/pool")
        b.node("Flatten", ["m"], ["logits"])
        let error = #expect(throws: OnnxError.self) { try b.model() }
        let message = error?.message ?? ""
        for label in ["node 0 '/conv' (Conv)", "node 1 '/resize' (Resize)", "node 2 '/middle_softmax' (Softmax)", "node 3 '/pool' (MaxPool)"] {
            #expect(message.contains(label), "missing \(label) in: \(message)")
        }
        #expect(!message.contains("(Flatten)"))
        #expect(message.contains("Supported: Conv, Gemm"))
    }

    @Test("an opset outside 13…21 is refused, naming it")
    func unknownOpset() throws {
        var b = GraphBuilder(inputShape: [1, 2, 2])
        b.opset = 9
        b.node("Flatten", ["image"], ["logits"])
        let error = #expect(throws: OnnxError.self) { try b.model() }
        #expect(error?.message.contains("opset 9") == true && error?.message.contains("13…21") == true)
    }

    @Test("a shape computed from the data is refused at load, naming the node")
    func unresolvedShape() throws {
        var b = GraphBuilder(inputShape: [1, 2, 2])
        b.node("Flatten", ["image"], ["f"])
        b.node("Reshape", ["image", "f"], ["logits"], name: "/data_shaped")
        let error = #expect(throws: OnnxError.self) { try b.model() }
        #expect(error?.message.contains("node 1 '/data_shaped' (Reshape)") == true)
        #expect(error?.message.contains("constant integer tensor") == true)
    }

    @Test("bytes that are not an ONNX model are refused, naming the source")
    func notOnnx() {
        let error = #expect(throws: OnnxError.self) { try OnnxModel(data: Data("not a model".utf8), source: "weights.bin") }
        #expect(error?.message.contains("weights.bin") == true)
    }
}
