import Autodiff
import Foundation
import Networks
import SwiftProtobuf

/// An ONNX classifier graph read and checked once: its nodes in order, its float
/// initializers as named parameters (in file order, under their ONNX names), its integer
/// initializers as constants, and the one image input and logits output it maps.
///
/// Everything Amnesia cannot run is found here, before any victim is touched: every
/// unsupported op or attribute is listed in one error, and the graph is run once on a
/// zero batch so that a shape it cannot resolve is reported now, not mid-attack.
public struct OnnxModel: Sendable {
    /// The ops that compute, each differentiable to second order on Amnesia's core.
    public static let computeOps = [
        "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Sigmoid", "Tanh",
        "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Flatten", "Reshape",
        "Transpose", "Concat", "Identity", "Dropout",
    ]
    /// Ops that only compute shapes (integer tensors), as an exporter writes them without
    /// constant folding (`x.view(x.size(0), -1)`).
    public static let shapeOps = ["Constant", "Shape", "Gather", "Unsqueeze", "Squeeze"]
    /// Ops allowed only as the graph's last node; the logits are their input (cross-entropy
    /// and predictions are the same on logits and on their log-softmax).
    public static let outputOps = ["Softmax", "LogSoftmax"]
    /// The default-domain opsets whose semantics of the ops above this interpreter follows.
    public static let opsets = 13...21

    let nodes: [OnnxNode]
    /// The float initializers: the parameters a victim's weights file holds.
    public let parameterSpecs: [ParameterSpec]
    /// Their values as stored in the file.
    public let fileParameters: [Tensor]
    /// Parameter indices of batch normalization's running mean and variance: statistics,
    /// not weights, so no gradient ever reaches them.
    let statistics: Set<Int>
    /// What each parameter is to its layer, for fresh initialization.
    let roles: [ParameterRole]
    /// Integer initializers (shapes, axes), by name.
    let constants: [String: IntegerTensor]
    let inputName: String
    /// The value holding the logits (the input of a final Softmax/LogSoftmax, if any).
    let logitsName: String
    /// [C, H, W] of one input image.
    public let inputShape: [Int]
    /// The batch size the graph was exported with, when its batch dimension is fixed.
    let exportedBatch: Int?
    public let opset: Int
    /// The number of logits, known after the dry run.
    public private(set) var classes = 0
    /// The graph without its float values: two files with equal structures are the same
    /// architecture with different weights.
    public let structure: Data

    /// The model's `metadata_props` (e.g. `test_accuracy`, the exporter's own figure).
    public let metadata: [String: String]

    /// Largest ONNX file read (1 GiB): far above any classifier Amnesia can train on a CPU,
    /// and refused before a byte is read.
    public static let maxFileBytes = 1 << 30
    /// Largest input image accepted, in values per image (C·H·W).
    public static let maxImageSize = 1 << 22
    /// Largest padding or dilation accepted on a Conv or pooling node.
    static let maxPadding = 1 << 10

    /// Reads the ONNX file at `url`.
    public init(contentsOf url: URL) throws(OnnxError) {
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
        guard let size else { throw OnnxError("cannot read \(url.path): no such file") }
        guard size <= Self.maxFileBytes else {
            throw OnnxError("\(url.path) is \(size) bytes, more than the \(Self.maxFileBytes)-byte limit for an ONNX classifier")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw OnnxError("cannot read \(url.path): \(error.localizedDescription)")
        }
        try self.init(data: data, source: url.path)
    }

    /// Parses and checks a serialized `ModelProto`; `source` names it in errors.
    public init(data: Data, source: String) throws(OnnxError) {
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: data) } catch {
            throw OnnxError("\(source) is not an ONNX model (\(error)); export one with torch.onnx.export")
        }
        try self.init(model: model, source: source)
    }

    init(model: Onnx_ModelProto, source: String) throws(OnnxError) {
        let graph = model.graph
        let defaultOpset = model.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }.map { Int($0.version) }
        guard let opset = defaultOpset, Self.opsets.contains(opset) else {
            throw OnnxError("\(source) uses default-domain opset \(defaultOpset.map(String.init) ?? "none"); supported: \(Self.opsets.lowerBound)…\(Self.opsets.upperBound) (torch.onnx.export(..., opset_version=17))")
        }
        self.opset = opset
        metadata = Dictionary(model.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        var bare = graph
        for i in bare.initializer.indices where bare.initializer[i].dataType == Int32(Onnx_TensorProto.DataType.float.rawValue) {
            bare.initializer[i].rawData = Data()
            bare.initializer[i].floatData = []
        }
        bare.docString = ""
        do { structure = try bare.serializedData() } catch {
            throw OnnxError("\(source): cannot re-serialize its graph (\(error))")
        }

        // Initializers: float ones are parameters, integer ones constants.
        var specs: [ParameterSpec] = [], values: [Tensor] = [], constants: [String: IntegerTensor] = [:]
        for initializer in graph.initializer {
            switch try OnnxTensor.decode(initializer, source: source) {
            case let .float(tensor):
                specs.append(ParameterSpec(initializer.name, tensor.shape))
                values.append(tensor)
            case let .integers(integers):
                constants[initializer.name] = integers
            }
        }
        let parameterIndex = Dictionary(specs.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })

        // The one image input and the one output.
        let initializerNames = Set(graph.initializer.map(\.name))
        let inputs = graph.input.filter { !initializerNames.contains($0.name) }
        guard inputs.count == 1, graph.output.count == 1 else {
            throw OnnxError("\(source) has \(inputs.count) inputs (\(inputs.map(\.name))) and \(graph.output.count) outputs; a classifier takes one image batch [N, C, H, W] and returns one logits tensor")
        }
        let dims = inputs[0].type.tensorType.shape.dim
        let imageDims = dims.dropFirst().map(\.fixedSize)
        guard dims.count == 4, imageDims.allSatisfy({ $0 != nil }) else {
            throw OnnxError("\(source): input '\(inputs[0].name)' must be [N, C, H, W] with fixed C, H and W, got \(dims.map { $0.fixedSize.map(String.init) ?? $0.dimParam })")
        }
        inputName = inputs[0].name
        inputShape = imageDims.map { $0! }
        guard let imageSize = checkedProduct(inputShape), imageSize <= Self.maxImageSize else {
            throw OnnxError("\(source): input '\(inputName)' of \(inputShape) per image is more than the \(Self.maxImageSize) values Amnesia accepts")
        }
        exportedBatch = dims[0].fixedSize

        // The nodes, with every unsupported op or attribute listed at once.
        var nodes = graph.node.enumerated().map { OnnxNode($1, position: $0) }
        var logitsName = graph.output[0].name
        if let last = nodes.last, Self.outputOps.contains(last.opType), last.outputs.first == logitsName, let input = last.input(0) {
            logitsName = input
            if let problem = Self.softmaxProblem(last) { throw OnnxError("\(source): \(last.label): \(problem)") }
            nodes.removeLast()
        }
        let problems = nodes.compactMap { node in Self.problem(with: node).map { "\(node.label): \($0)" } }
        guard problems.isEmpty else {
            throw OnnxError("""
                \(source) cannot run on Amnesia's core:
                  \(problems.joined(separator: "\n  "))
                Supported: \(Self.computeOps.joined(separator: ", ")); on shape values only: \(Self.shapeOps.joined(separator: ", ")); \
                \(Self.outputOps.joined(separator: " or ")) as the last node. Re-export with opset \(Self.opsets.lowerBound)–\(Self.opsets.upperBound) \
                or replace those layers.
                """)
        }
        self.nodes = nodes
        self.logitsName = logitsName
        self.constants = constants
        parameterSpecs = specs
        fileParameters = values
        statistics = Set(nodes.filter { $0.opType == "BatchNormalization" }
            .flatMap { [$0.input(3), $0.input(4)] }.compactMap { $0.flatMap { parameterIndex[$0] } })
        roles = Self.roles(of: nodes, specs: specs, index: parameterIndex)

        // Dry runs resolve every shape for two batch sizes other than a fixed exported one,
        // so any batch runs later.
        for batch in [2, 3] {
            var dryRun = OnnxInterpreter(model: self, parameters: values, training: false)
            let logits = try dryRun.run(Tensor.zeros([batch] + inputShape)).logits
            guard logits.rank == 2, logits.shape[0] == batch, logits.shape[1] >= 2, classes == 0 || logits.shape[1] == classes else {
                throw OnnxError("\(source): the output '\(logitsName)' has shape \(logits.shape) for a batch of \(batch); a classifier returns logits [N, classes] for any batch size N")
            }
            classes = logits.shape[1]
        }
    }

    /// Each parameter's role, from the node that reads it: the weights and biases of Conv,
    /// Gemm and MatMul (with their layer's fan-in and fan-out), batch normalization's four
    /// inputs; `.kept` for any other use.
    static func roles(of nodes: [OnnxNode], specs: [ParameterSpec], index: [String: Int]) -> [ParameterRole] {
        var roles = [ParameterRole](repeating: .kept, count: specs.count)
        func set(_ node: OnnxNode, _ input: Int, _ role: ParameterRole) {
            if let name = node.input(input), let i = index[name] { roles[i] = role }
        }
        for node in nodes {
            switch node.opType {
            case "Conv":
                guard let i = node.input(1).flatMap({ index[$0] }), specs[i].shape.count == 4 else { continue }
                let w = specs[i].shape, kernel = w[2] * w[3]
                set(node, 1, .weight(fanIn: w[1] * kernel, fanOut: w[0] * kernel))
                set(node, 2, .bias(fanIn: w[1] * kernel))
            case "Gemm", "MatMul":
                guard let i = node.input(1).flatMap({ index[$0] }), specs[i].shape.count == 2 else { continue }
                let w = specs[i].shape
                let (fanIn, fanOut) = node.int("transB", default: 0) != 0 ? (w[1], w[0]) : (w[0], w[1])
                set(node, 1, .weight(fanIn: fanIn, fanOut: fanOut))
                if node.opType == "Gemm" { set(node, 2, .bias(fanIn: fanIn)) }
            case "BatchNormalization":
                for (input, role) in [(1, ParameterRole.ones), (2, .zeros), (3, .zeros), (4, .ones)] { set(node, input, role) }
            default:
                continue
            }
        }
        return roles
    }

    /// Why `node` cannot run here, or nil.
    static func problem(with node: OnnxNode) -> String? {
        guard node.domain.isEmpty || node.domain == "ai.onnx" else { return "domain '\(node.domain)' is not supported" }
        if outputOps.contains(node.opType) { return "\(node.opType) is supported only as the graph's last node" }
        guard computeOps.contains(node.opType) || shapeOps.contains(node.opType) else { return "op \(node.opType) is not supported" }
        if !node.repeatedAttributes.isEmpty {
            return "attribute \(node.repeatedAttributes.map { "'\($0)'" }.joined(separator: ", ")) is given more than once; an ONNX node names each attribute once"
        }
        let autoPad = node.string("auto_pad") ?? "NOTSET"
        func square(_ key: String) -> Bool { node.ints(key).map { Set($0).count <= 1 } ?? true }
        switch node.opType {
        case "Conv":
            if autoPad != "NOTSET" { return "auto_pad \(autoPad) is not supported (export with explicit pads)" }
            if !square("strides") || !square("dilations") { return "strides \(node.ints("strides") ?? []) and dilations \(node.ints("dilations") ?? []) must be equal along height and width" }
            if ((node.ints("pads") ?? []) + (node.ints("dilations") ?? [])).contains(where: { $0 < 0 || $0 > maxPadding }) {
                return "pads and dilations must be in 0…\(maxPadding)"
            }
        case "MaxPool", "AveragePool":
            if autoPad != "NOTSET" { return "auto_pad \(autoPad) is not supported" }
            if node.int("ceil_mode", default: 0) != 0 { return "ceil_mode 1 is not supported" }
            if !square("kernel_shape") || !square("strides") || !square("pads") { return "kernel, strides and pads must be the same along every side" }
            if let d = node.ints("dilations"), d.contains(where: { $0 != 1 }) { return "dilations \(d) are not supported" }
            if node.outputs.count > 1 { return "the indices output is not supported" }
            if (node.ints("pads") ?? []).contains(where: { $0 < 0 || $0 > maxPadding }) { return "pads must be in 0…\(maxPadding)" }
            if node.opType == "AveragePool", node.int("count_include_pad", default: 0) == 0, node.ints("pads")?.contains(where: { $0 != 0 }) == true {
                return "padding that is left out of the average (count_include_pad 0) is not supported"
            }
            if node.opType == "MaxPool", let k = node.ints("kernel_shape")?.first, let p = node.ints("pads")?.first, 2 * p > k {
                return "pads \(p) exceed half the window \(k)"
            }
        case "BatchNormalization":
            if node.int("training_mode", default: 0) != 0 || node.outputs.count > 1 { return "export the model in eval mode (model.eval()): training-mode BatchNormalization nodes are not supported" }
        default:
            break
        }
        return nil
    }

    static func softmaxProblem(_ node: OnnxNode) -> String? {
        let axis = node.int("axis", default: -1)
        return axis == -1 || axis == 1 ? nil : "\(node.opType) over axis \(axis); only over the classes (axis 1 or -1)"
    }
}

/// An integer tensor (shapes, axes, indices) as the interpreter computes with it.
struct IntegerTensor: Sendable, Equatable {
    var values: [Int]
    var shape: [Int]
}

/// Decoding of `TensorProto`s into float tensors or integer values.
enum OnnxTensor {
    enum Decoded {
        case float(Tensor)
        case integers(IntegerTensor)
    }

    static func decode(_ proto: Onnx_TensorProto, source: String) throws(OnnxError) -> Decoded {
        let shape = proto.dims.map(Int.init)
        guard let count = checkedProduct(shape), count <= OnnxModel.maxFileBytes else {
            throw OnnxError("\(source): tensor '\(proto.name)' has impossible dimensions \(shape)")
        }
        if proto.dataLocation == .external {
            throw OnnxError("\(source): tensor '\(proto.name)' keeps its data in an external file; export the model as one file (smaller than 2 GB)")
        }
        func wrongCount(_ got: Int) -> OnnxError {
            OnnxError("\(source): tensor '\(proto.name)' of shape \(shape) holds \(got) values")
        }
        let raw = proto.rawData
        switch Onnx_TensorProto.DataType(rawValue: Int(proto.dataType)) {
        case .float?:
            let values = raw.isEmpty ? proto.floatData : littleEndian(raw, as: UInt32.self).map { Float(bitPattern: $0) }
            guard values.count == count else { throw wrongCount(values.count) }
            return .float(Tensor(shape: shape, scalars: values))
        case .int64?:
            let values = raw.isEmpty ? proto.int64Data.map(Int.init) : littleEndian(raw, as: UInt64.self).map { Int(Int64(bitPattern: $0)) }
            guard values.count == count else { throw wrongCount(values.count) }
            return .integers(IntegerTensor(values: values, shape: shape))
        case .int32?:
            let values = raw.isEmpty ? proto.int32Data.map(Int.init) : littleEndian(raw, as: UInt32.self).map { Int(Int32(bitPattern: $0)) }
            guard values.count == count else { throw wrongCount(values.count) }
            return .integers(IntegerTensor(values: values, shape: shape))
        default:
            throw OnnxError("\(source): tensor '\(proto.name)' has ONNX data type \(proto.dataType); supported: float32, int64, int32")
        }
    }

    /// Fixed-width little-endian words from raw bytes (ONNX stores raw data little-endian).
    private static func littleEndian<T: FixedWidthInteger>(_ data: Data, as: T.Type) -> [T] {
        let size = MemoryLayout<T>.size
        return stride(from: 0, to: data.count - data.count % size, by: size).map { offset in
            data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        }
    }
}

extension Onnx_TensorShapeProto.Dimension {
    /// The dimension's size when the file fixes it; nil when symbolic or unknown.
    var fixedSize: Int? {
        if case let .dimValue(size)? = value, size > 0 { Int(size) } else { nil }
    }
}

/// The product of `dims`, or nil when one is negative or the product overflows.
func checkedProduct(_ dims: [Int]) -> Int? {
    var product = 1
    for d in dims {
        guard d >= 0 else { return nil }
        let (p, overflow) = product.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        product = p
    }
    return product
}

/// What a parameter is to the layer that reads it, as PyTorch initializes that layer.
enum ParameterRole: Sendable, Equatable {
    case weight(fanIn: Int, fanOut: Int)
    case bias(fanIn: Int)
    /// Batch norm's scale and running variance.
    case ones
    /// Batch norm's shift and running mean.
    case zeros
    /// Read by another op (a learned constant): the file's value is kept.
    case kept
}

extension OnnxModel {
    /// The penultimate activations: the data input of the graph's final Gemm or MatMul
    /// (also through a bias Add), nil when the graph ends some other way.
    var featuresName: String? {
        func producer(_ name: String) -> OnnxNode? { nodes.last { $0.outputs.contains(name) } }
        guard var last = producer(logitsName) else { return nil }
        if last.opType == "Add", let product = last.inputs.compactMap(producer).first(where: { $0.opType == "MatMul" }) {
            last = product
        }
        return ["Gemm", "MatMul"].contains(last.opType) ? last.inputs.first : nil
    }
}
