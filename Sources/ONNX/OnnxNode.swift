/// One node of an ONNX graph, as the interpreter reads it: where it is (for errors), what
/// it does, and its attributes by name.
struct OnnxNode: Sendable {
    let position: Int
    let name: String
    let opType: String
    let domain: String
    let inputs: [String]
    let outputs: [String]
    let attributes: [String: Onnx_AttributeProto]
    /// Attribute names the node gives more than once (the ONNX checker refuses them; which
    /// one counts would be a guess).
    let repeatedAttributes: [String]

    init(_ proto: Onnx_NodeProto, position: Int) {
        self.position = position
        name = proto.name
        opType = proto.opType
        domain = proto.domain
        inputs = proto.input
        outputs = proto.output
        attributes = Dictionary(proto.attribute.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var seen = Set<String>()
        repeatedAttributes = Set(proto.attribute.map(\.name).filter { !seen.insert($0).inserted }).sorted()
    }

    /// "node 3 '/conv1/Conv' (Conv)": how every error names a node.
    var label: String { "node \(position) '\(name)' (\(opType))" }

    func int(_ key: String, default value: Int) -> Int {
        attributes[key].map { Int($0.i) } ?? value
    }

    func ints(_ key: String) -> [Int]? {
        attributes[key].map { $0.ints.map(Int.init) }
    }

    func float(_ key: String, default value: Float) -> Float {
        attributes[key]?.f ?? value
    }

    func string(_ key: String) -> String? {
        attributes[key].map { String(decoding: $0.s, as: UTF8.self) }
    }

    /// The input at `index`, nil when absent or left empty (ONNX's optional inputs).
    func input(_ index: Int) -> String? {
        index < inputs.count && !inputs[index].isEmpty ? inputs[index] : nil
    }
}
