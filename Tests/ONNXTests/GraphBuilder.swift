import Autodiff
import Foundation
import ONNX

/// A small ONNX model a test builds itself: one image input [N, C, H, W] with a symbolic
/// batch, nodes in order, float and integer initializers, one output.
struct GraphBuilder {
    var inputShape: [Int]
    var opset: Int64 = 17
    var output = "logits"
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    /// The float initializers' values, in order: the classifier's parameters.
    private(set) var parameters: [Tensor] = []

    init(inputShape: [Int]) { self.inputShape = inputShape }

    mutating func node(_ op: String, _ inputs: [String], _ outputs: [String], _ attributes: [Onnx_AttributeProto] = [], name: String? = nil) {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = name ?? "/\(op.lowercased())_\(nodes.count)"
        n.input = inputs
        n.output = outputs
        n.attribute = attributes
        nodes.append(n)
    }

    mutating func floats(_ name: String, _ tensor: Tensor) {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = tensor.shape.map(Int64.init)
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.floatData = tensor.scalars
        initializers.append(t)
        parameters.append(tensor)
    }

    mutating func ints(_ name: String, _ values: [Int]) {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = [Int64(values.count)]
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.int64Data = values.map(Int64.init)
        initializers.append(t)
    }

    func data() throws -> Data {
        var model = Onnx_ModelProto()
        model.irVersion = 8
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.version = opset
        model.opsetImport = [opsetID]
        var graph = Onnx_GraphProto()
        graph.name = "test"
        graph.node = nodes
        graph.initializer = initializers
        var input = Onnx_ValueInfoProto()
        input.name = "image"
        var batch = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = "N"
        input.type.tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        input.type.tensorType.shape.dim = [batch] + inputShape.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            dim.dimValue = Int64(d)
            return dim
        }
        graph.input = [input]
        var out = Onnx_ValueInfoProto()
        out.name = output
        graph.output = [out]
        model.graph = graph
        return try model.serializedData()
    }

    func model() throws -> OnnxModel { try OnnxModel(data: data(), source: "test graph") }
}

func attribute(_ name: String, int value: Int) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    (a.name, a.type, a.i) = (name, .int, Int64(value))
    return a
}

func attribute(_ name: String, ints values: [Int]) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    (a.name, a.type, a.ints) = (name, .ints, values.map(Int64.init))
    return a
}

func attribute(_ name: String, float value: Float) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    (a.name, a.type, a.f) = (name, .float, value)
    return a
}

/// Seeded uniform values in [low, high).
func random(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor.randomUniform(shape, low: low, high: high, using: &rng)
}

/// The largest |a − b| over two equally shaped tensors.
func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.shape == b.shape, "\(a.shape) vs \(b.shape)")
    return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
}
