import Autodiff
import Foundation
import Networks
import ONNX
import Testing

/// What `Fixtures/export_fixtures.py` wrote: the inputs and PyTorch's outputs.
struct ExpectedOutputs: Decodable {
    let torch: String
    let inputs: [Float]
    let inputShape: [Int]
    let lenet: [Float]
    let resnet: [Float]
    let resnetTrain: [Float]
    let resnetTrainRunningMean: [String: [Float]]
    let resnetTrainRunningVar: [String: [Float]]

    enum CodingKeys: String, CodingKey {
        case torch, inputs, inputShape = "input_shape", lenet, resnet, resnetTrain = "resnet_train"
        case resnetTrainRunningMean = "resnet_train_running_mean", resnetTrainRunningVar = "resnet_train_running_var"
    }

    var batch: Tensor { Tensor(shape: inputShape, scalars: inputs) }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func load() throws -> ExpectedOutputs {
        try JSONDecoder().decode(ExpectedOutputs.self, from: Data(contentsOf: fixtures.appendingPathComponent("expected.json")))
    }
}

func fixtureModel(_ name: String) throws -> OnnxModel {
    try OnnxModel(contentsOf: ExpectedOutputs.fixtures.appendingPathComponent(name))
}

@Suite("Models exported by PyTorch give PyTorch's logits")
struct PyTorchFixtureTests {
    @Test("LeNet, with a dynamic and with a fixed batch size, within 1e-4", arguments: ["lenet.onnx", "lenet-static.onnx"])
    func lenet(_ file: String) throws {
        let expected = try ExpectedOutputs.load()
        let model = try fixtureModel(file)
        let net = OnnxClassifier(model: model)
        #expect(model.inputShape == [1, 28, 28] && model.classes == 10)
        let logits = net.logits(expected.batch, model.fileParameters)
        #expect(maxDifference(logits, Tensor(shape: [4, 10], scalars: expected.lenet)) < 1e-4)
    }

    @Test("the ONNX LeNet keeps PyTorch's state_dict names and equals Amnesia's own LeNet")
    func lenetIsAmnesiasLeNet() throws {
        let expected = try ExpectedOutputs.load()
        let model = try fixtureModel("lenet.onnx")
        let native = try LeNet(inputShape: [1, 28, 28], classes: 10)
        #expect(model.parameterSpecs == native.parameterSpecs)
        let onnx = OnnxClassifier(model: model).logits(expected.batch, model.fileParameters)
        #expect(maxDifference(onnx, native.logits(expected.batch, model.fileParameters)) < 1e-5)
    }

    @Test("a residual net with BatchNorm, without and with constant folding, within 1e-4",
          arguments: ["resnet.onnx", "resnet-folded.onnx"])
    func resnet(_ file: String) throws {
        let expected = try ExpectedOutputs.load()
        let model = try fixtureModel(file)
        let logits = OnnxClassifier(model: model).logits(expected.batch, model.fileParameters)
        #expect(maxDifference(logits, Tensor(shape: [4, 10], scalars: expected.resnet)) < 1e-4)
    }

    @Test("batch_norm train: a training forward gives PyTorch's model.train() logits and running statistics")
    func resnetTrainMode() throws {
        let expected = try ExpectedOutputs.load()
        let model = try fixtureModel("resnet.onnx")
        let p = model.fileParameters
        let (logits, updated) = OnnxClassifier(model: model, batchNorm: .train).trainingForward(expected.batch, p)
        #expect(maxDifference(logits, Tensor(shape: [4, 10], scalars: expected.resnetTrain)) < 1e-4)
        var checked = 0
        for (i, spec) in model.parameterSpecs.enumerated() {
            if let mean = expected.resnetTrainRunningMean[spec.name] ?? expected.resnetTrainRunningVar[spec.name] {
                #expect(maxDifference(updated[i], Tensor(shape: spec.shape, scalars: mean)) < 1e-4, "\(spec.name)")
                checked += 1
            } else {
                #expect(updated[i].scalars == p[i].scalars, "\(spec.name) is a weight: the forward pass must not change it")
            }
        }
        #expect(checked == 8)   // four BatchNorm layers, mean and variance each

        // In eval mode nothing but the logits changes, and they use the running statistics.
        let (evalLogits, same) = OnnxClassifier(model: model, batchNorm: .eval).trainingForward(expected.batch, p)
        #expect(maxDifference(evalLogits, Tensor(shape: [4, 10], scalars: expected.resnet)) < 1e-4)
        #expect(zip(same, p).allSatisfy { $0.scalars == $1.scalars })
    }

    @Test("running statistics get no gradient: a step on the parameters never moves them")
    func statisticsAreFrozen() throws {
        let expected = try ExpectedOutputs.load()
        let model = try fixtureModel("resnet.onnx")
        let p = model.fileParameters.map { $0.requiringGradient() }
        let loss = crossEntropy(OnnxClassifier(model: model).logits(expected.batch, p), labels: [0, 1, 2, 3])
        let grads = gradients(of: loss, wrt: p)
        for (spec, g) in zip(model.parameterSpecs, grads) {
            let isStatistic = spec.name.hasSuffix("running_mean") || spec.name.hasSuffix("running_var")
            #expect(g.scalars.allSatisfy { $0 == 0 } == isStatistic, "\(spec.name)")
        }
    }
}

@Suite("Fresh parameters for an ONNX graph, as PyTorch initializes each layer")
struct OnnxInitializationTests {
    @Test("Conv and Linear weights and biases within ±1/√fan_in, batch norm at ones and zeros, deterministic")
    func pytorchDefaults() throws {
        let model = try fixtureModel("resnet.onnx")
        let net = OnnxClassifier(model: model)
        var rng = SeededGenerator(seed: 3)
        let fresh = net.initialParameters(.pytorchDefault, using: &rng)
        var again = SeededGenerator(seed: 3)
        #expect(zip(fresh, net.initialParameters(.pytorchDefault, using: &again)).allSatisfy { $0.scalars == $1.scalars })
        let byName = Dictionary(uniqueKeysWithValues: zip(model.parameterSpecs.map(\.name), fresh))
        for (name, fanIn) in [("stem.weight", 9), ("grouped.weight", 36), ("grouped.bias", 36), ("shortcut.weight", 8),
                              ("fc.weight", 8), ("fc.bias", 8), ("head.weight", 16), ("head.bias", 16)] {
            let values = try #require(byName[name]).scalars
            let bound = 1 / Float(fanIn).squareRoot()
            #expect(values.allSatisfy { abs($0) <= bound } && values.contains { abs($0) > bound / 2 }, "\(name)")
        }
        for name in ["bn.weight", "block.bn1.running_var"] { #expect(byName[name]?.scalars.allSatisfy { $0 == 1 } == true, "\(name)") }
        for name in ["bn.bias", "block.bn2.running_mean"] { #expect(byName[name]?.scalars.allSatisfy { $0 == 0 } == true, "\(name)") }
        var xavier = SeededGenerator(seed: 3)
        let zeroBiases = net.initialParameters(.xavierNormal, using: &xavier)
        #expect(zip(model.parameterSpecs, zeroBiases).filter { ["fc.bias", "head.bias", "grouped.bias"].contains($0.0.name) }
            .allSatisfy { $0.1.scalars.allSatisfy { $0 == 0 } })
    }
}
