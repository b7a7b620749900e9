import Synchronization

/// Creation counter: a node is always numbered after the nodes of its inputs, so sorting
/// by number descending is a valid reverse topological order (the tape).
private let nodeCounter = Atomic<Int>(0)

/// What an op's vector-Jacobian product receives when the tape is replayed backwards.
public struct Cotangent {
    /// The gradient of the loss with respect to the op's output.
    public let upstream: Tensor
    /// For each input, whether its gradient is needed (inputs off the path to any
    /// target are skipped, which saves e.g. the input gradient of a first layer).
    public let needs: [Bool]
    /// The op's own output, still attached to the graph, for VJPs written in terms of
    /// it (exp, sigmoid, log-softmax) that must stay differentiable.
    public let output: Tensor
}

/// A recorded op: its inputs' nodes and its vector-Jacobian product. The VJP is written
/// in differentiable tensor ops, so replaying it while recording yields a graph that can
/// be differentiated again (second order).
public final class Node: @unchecked Sendable {
    let id: Int
    let inputs: [Node?]
    let shape: [Int]
    /// Storage of the output, kept only by ops whose VJP reads the output.
    let output: TensorStorage?
    let vjp: ((Cotangent) -> [Tensor?])?

    init(leafWithShape shape: [Int]) {
        id = nodeCounter.add(1, ordering: .relaxed).newValue
        inputs = []
        self.shape = shape
        output = nil
        vjp = nil
    }

    init(inputs: [Node?], shape: [Int], output: TensorStorage?, vjp: @escaping (Cotangent) -> [Tensor?]) {
        id = nodeCounter.add(1, ordering: .relaxed).newValue
        self.inputs = inputs
        self.shape = shape
        self.output = output
        self.vjp = vjp
    }
}

/// Whether ops currently record themselves on the graph.
public enum GradientMode {
    @TaskLocal static var recording = true

    /// Whether ops record a node for results that depend on graph tensors.
    public static var isRecording: Bool { recording }

    /// Runs `body` without recording: for inference, optimizer updates and metrics.
    public static func withoutRecording<R>(_ body: () throws -> R) rethrows -> R {
        try $recording.withValue(false, operation: body)
    }

    static func with<R>(recording: Bool, _ body: () throws -> R) rethrows -> R {
        try $recording.withValue(recording, operation: body)
    }
}

extension Tensor {
    /// Wraps an op's freshly computed `storage` as its result, recording a node when
    /// recording is on and some input is in the graph.
    ///
    /// - Parameters:
    ///   - keepOutput: whether `vjp` reads `Cotangent.output`; otherwise the node does not
    ///     keep the output alive.
    ///   - vjp: returns one gradient per input (shaped like that input), or `nil` where
    ///     the gradient is not needed or identically zero.
    static func result(
        _ storage: TensorStorage, shape: [Int], inputs: [Tensor], keepOutput: Bool = false,
        vjp: @escaping (Cotangent) -> [Tensor?]
    ) -> Tensor {
        guard GradientMode.isRecording, inputs.contains(where: { $0.node != nil }) else {
            return Tensor(storage: storage, shape: shape)
        }
        let node = Node(inputs: inputs.map(\.node), shape: shape,
                        output: keepOutput ? storage : nil, vjp: vjp)
        return Tensor(storage: storage, shape: shape, node: node)
    }
}

/// Reverse-mode gradients of a scalar `loss` with respect to each tensor in `targets`.
///
/// - Parameter createGraph: record the backward pass itself, so the returned gradients
///   are in the graph and can be differentiated again (needed to differentiate through
///   a gradient step). With `false` nothing is recorded and the results are constants.
/// - Returns: one gradient per target, shaped like it; zeros where the loss does not
///   depend on the target.
public func gradients(of loss: Tensor, wrt targets: [Tensor], createGraph: Bool = false) -> [Tensor] {
    precondition(loss.count == 1, "gradients need a scalar loss, got shape \(loss.shape)")
    let zeros = targets.map { Tensor.zeros($0.shape) }
    guard let root = loss.node else { return zeros }

    let targetIDs = Set(targets.compactMap { $0.node.map(ObjectIdentifier.init) })
    let relevant = nodesLeading(from: root, to: targetIDs)
    guard !relevant.isEmpty else { return zeros }

    var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): Tensor.ones(loss.shape)]
    var results: [ObjectIdentifier: Tensor] = [:]
    GradientMode.with(recording: createGraph) {
        for node in relevant.values.sorted(by: { $0.id > $1.id }) {
            let key = ObjectIdentifier(node)
            guard let grad = pending.removeValue(forKey: key) else { continue }
            if targetIDs.contains(key) { results[key] = grad }
            guard let vjp = node.vjp else { continue }
            let needs = node.inputs.map { $0.map { relevant[ObjectIdentifier($0)] != nil } ?? false }
            guard needs.contains(true) else { continue }
            let output = node.output.map { Tensor(storage: $0, shape: node.shape, node: node) }
                ?? Tensor.placeholder
            let inputGrads = vjp(Cotangent(upstream: grad, needs: needs, output: output))
            for (index, input) in node.inputs.enumerated() where needs[index] {
                guard let input, let inputGrad = inputGrads[index] else { continue }
                precondition(inputGrad.shape == input.shape,
                             "VJP returned gradient of shape \(inputGrad.shape) for input of shape \(input.shape)")
                let inputKey = ObjectIdentifier(input)
                pending[inputKey] = pending[inputKey].map { $0 + inputGrad } ?? inputGrad
            }
        }
    }
    return targets.enumerated().map { index, target in
        target.node.flatMap { results[ObjectIdentifier($0)] } ?? zeros[index]
    }
}

/// The nodes from which some target is reachable by following inputs, keyed by identity.
private func nodesLeading(from root: Node, to targets: Set<ObjectIdentifier>) -> [ObjectIdentifier: Node] {
    var leads: [ObjectIdentifier: Bool] = [:]
    var relevant: [ObjectIdentifier: Node] = [:]
    // Iterative post-order traversal: unrolled inner steps make deep graphs.
    var stack: [(node: Node, expanded: Bool)] = [(root, false)]
    while let (node, expanded) = stack.popLast() {
        let key = ObjectIdentifier(node)
        if leads[key] != nil { continue }
        if expanded {
            let reaches = targets.contains(key) || node.inputs.contains { input in
                input.map { leads[ObjectIdentifier($0)] == true } ?? false
            }
            leads[key] = reaches
            if reaches { relevant[key] = node }
        } else {
            stack.append((node, true))
            for case let input? in node.inputs where leads[ObjectIdentifier(input)] == nil {
                stack.append((input, false))
            }
        }
    }
    return relevant
}

/// Records `value` as the output of a user-defined op on `inputs` with the given VJP.
/// The VJP must return one gradient per input (or `nil`), written in differentiable ops
/// if the op is to support second order. Useful for fused ops and for testing the
/// gradient checkers themselves.
public func customOp(value: Tensor, inputs: [Tensor], vjp: @escaping (Cotangent) -> [Tensor?]) -> Tensor {
    .result(value.storage, shape: value.shape, inputs: inputs, keepOutput: true, vjp: vjp)
}
