import Autodiff

/// One run of an ONNX graph on Amnesia's tensors: every node in file order (ONNX
/// requires topological order), each mapped to differentiable ops, so the logits carry
/// the graph back to the input and to every parameter, to any order.
struct OnnxInterpreter {
    enum Value {
        case tensor(Tensor)
        case integers(IntegerTensor)
    }

    let model: OnnxModel
    let parameters: [Tensor]
    /// Batch normalization from the batch's own statistics (PyTorch's `model.train()`),
    /// instead of the running ones.
    let training: Bool
    private var values: [String: Value] = [:]
    private var parameterIndex: [String: Int] = [:]
    /// Running statistics a training-mode run updated, by parameter index.
    private var updatedStatistics: [Int: Tensor] = [:]

    init(model: OnnxModel, parameters: [Tensor], training: Bool) {
        (self.model, self.parameters, self.training) = (model, parameters, training)
        for (i, spec) in model.parameterSpecs.enumerated() {
            parameterIndex[spec.name] = i
            // Statistics are read, never differentiated: a step leaves them alone.
            values[spec.name] = .tensor(model.statistics.contains(i) ? parameters[i].detached() : parameters[i])
        }
        for (name, constant) in model.constants { values[name] = .integers(constant) }
    }

    /// The logits for `x` [N, C, H, W] and, in training mode, the running statistics the
    /// run updated (by parameter index).
    mutating func run(_ x: Tensor) throws(OnnxError) -> (logits: Tensor, statistics: [Int: Tensor]) {
        values[model.inputName] = .tensor(x)
        for node in model.nodes {
            let outputs = try evaluate(node)
            for (name, value) in zip(node.outputs, outputs) where !name.isEmpty { values[name] = value }
        }
        guard case let .tensor(logits)? = values[model.logitsName] else {
            throw OnnxError("the graph never computes its output '\(model.logitsName)' as a float tensor")
        }
        return (logits, updatedStatistics)
    }

    /// The float tensor `name` computed by the last `run`, if any.
    func computed(_ name: String) -> Tensor? {
        guard case let .tensor(t)? = values[name] else { return nil }
        return t
    }

    // MARK: reading inputs

    private func value(_ node: OnnxNode, _ index: Int) throws(OnnxError) -> Value {
        guard let name = node.input(index) else { throw OnnxError("\(node.label): input \(index) is missing") }
        guard let value = values[name] else {
            throw OnnxError("\(node.label): input '\(name)' is computed by no earlier node (a value this interpreter cannot resolve)")
        }
        return value
    }

    private func tensor(_ node: OnnxNode, _ index: Int) throws(OnnxError) -> Tensor {
        switch try value(node, index) {
        case let .tensor(t): return t
        case let .integers(i): return Tensor(shape: i.shape, scalars: i.values.map(Float.init))
        }
    }

    private func optionalTensor(_ node: OnnxNode, _ index: Int) throws(OnnxError) -> Tensor? {
        node.input(index) == nil ? nil : try tensor(node, index)
    }

    private func integers(_ node: OnnxNode, _ index: Int) throws(OnnxError) -> IntegerTensor {
        guard case let .integers(i) = try value(node, index) else {
            throw OnnxError("\(node.label): input '\(node.inputs[index])' must be a constant integer tensor (a shape known before the run); it is computed from the data")
        }
        return i
    }

    private func fail(_ node: OnnxNode, _ why: String) -> OnnxError { OnnxError("\(node.label): \(why)") }

    // MARK: the ops

    private mutating func evaluate(_ node: OnnxNode) throws(OnnxError) -> [Value] {
        switch node.opType {
        case "Identity", "Dropout":
            return [try value(node, 0)]
        case "Constant":
            return [try constant(node)]
        case "Relu": return [.tensor(relu(try tensor(node, 0)))]
        case "Sigmoid": return [.tensor(sigmoid(try tensor(node, 0)))]
        case "Tanh": return [.tensor(tanh(try tensor(node, 0)))]
        case "LeakyRelu": return [.tensor(leakyRelu(try tensor(node, 0), slope: node.float("alpha", default: 0.01)))]
        case "Add", "Sub", "Mul", "Div":
            return [try arithmetic(node)]
        case "Conv": return [.tensor(try convolution(node))]
        case "Gemm": return [.tensor(try gemm(node))]
        case "MatMul":
            let (a, b) = (try tensor(node, 0), try tensor(node, 1))
            guard a.rank == 2, b.rank == 2, a.shape[1] == b.shape[0] else {
                throw fail(node, "multiplies \(a.shape) by \(b.shape); supported: [N, K] × [K, M]")
            }
            return [.tensor(matmul(a, b))]
        case "MaxPool", "AveragePool": return [.tensor(try pooling(node))]
        case "GlobalAveragePool":
            let x = try imageBatch(node)
            return [.tensor(x.mean(alongAxes: [2, 3], keepingDims: true))]
        case "BatchNormalization": return [.tensor(try batchNormalization(node))]
        case "Flatten":
            let x = try tensor(node, 0)
            let axis = node.int("axis", default: 1)
            let a = axis < 0 ? axis + x.rank : axis
            guard a >= 0 && a <= x.rank else { throw fail(node, "axis \(axis) for shape \(x.shape)") }
            return [.tensor(x.reshaped([x.shape[..<a].reduce(1, *), x.shape[a...].reduce(1, *)]))]
        case "Reshape": return [.tensor(try reshape(node))]
        case "Transpose":
            let x = try tensor(node, 0)
            let perm = node.ints("perm") ?? Array((0..<x.rank).reversed())
            guard perm.sorted() == Array(0..<x.rank) else { throw fail(node, "perm \(perm) for shape \(x.shape)") }
            return [.tensor(x.permuted(perm))]
        case "Concat": return [try concat(node)]
        case "Shape":
            let x = try tensor(node, 0)
            let (start, end) = (node.int("start", default: 0), node.int("end", default: x.rank))
            let dims = Array(x.shape[clamp(start, x.rank)..<max(clamp(start, x.rank), clamp(end, x.rank))])
            return [.integers(IntegerTensor(values: dims, shape: [dims.count]))]
        case "Gather": return [try gather(node)]
        case "Unsqueeze", "Squeeze": return [try squeezing(node)]
        default:
            throw fail(node, "op \(node.opType) is not supported")
        }
    }

    private func constant(_ node: OnnxNode) throws(OnnxError) -> Value {
        if let t = node.attributes["value"]?.t {
            switch try OnnxTensor.decode(t, source: node.label) {
            case let .float(tensor): return .tensor(tensor)
            case let .integers(i): return .integers(i)
            }
        }
        if let ints = node.ints("value_ints") { return .integers(IntegerTensor(values: ints, shape: [ints.count])) }
        if let i = node.attributes["value_int"] { return .integers(IntegerTensor(values: [Int(i.i)], shape: [])) }
        if let f = node.attributes["value_float"] { return .tensor(Tensor(f.f)) }
        throw fail(node, "only value, value_int, value_ints and value_float constants are supported")
    }

    private func arithmetic(_ node: OnnxNode) throws(OnnxError) -> Value {
        let (lhs, rhs) = (try value(node, 0), try value(node, 1))
        if case let .integers(a) = lhs, case let .integers(b) = rhs {
            guard a.shape == b.shape || a.values.count == 1 || b.values.count == 1 else {
                throw fail(node, "integer operands of shapes \(a.shape) and \(b.shape)")
            }
            let n = max(a.values.count, b.values.count)
            let values = try (0..<n).map { i throws(OnnxError) -> Int in
                let (x, y) = (a.values[a.values.count == 1 ? 0 : i], b.values[b.values.count == 1 ? 0 : i])
                let (result, overflow) = switch node.opType {
                case "Add": x.addingReportingOverflow(y)
                case "Sub": x.subtractingReportingOverflow(y)
                case "Mul": x.multipliedReportingOverflow(by: y)
                default: y == 0 ? (0, true) : x.dividedReportingOverflow(by: y)
                }
                guard !overflow else { throw fail(node, "integer \(node.opType) of \(x) and \(y) has no result") }
                return result
            }
            return .integers(IntegerTensor(values: values, shape: a.values.count >= b.values.count ? a.shape : b.shape))
        }
        let (a, b) = (try tensor(node, 0), try tensor(node, 1))
        guard broadcasts(a.shape, b.shape) else { throw fail(node, "shapes \(a.shape) and \(b.shape) do not broadcast") }
        switch node.opType {
        case "Add": return .tensor(a + b)
        case "Sub": return .tensor(a - b)
        case "Mul": return .tensor(a * b)
        default: return .tensor(a / b)
        }
    }

    private func imageBatch(_ node: OnnxNode) throws(OnnxError) -> Tensor {
        let x = try tensor(node, 0)
        guard x.rank == 4 else { throw fail(node, "needs an [N, C, H, W] input, got \(x.shape)") }
        return x
    }

    private func convolution(_ node: OnnxNode) throws(OnnxError) -> Tensor {
        let (x, w, b) = (try imageBatch(node), try tensor(node, 1), try optionalTensor(node, 2))
        let groups = node.int("group", default: 1)
        let stride = node.ints("strides")?.first ?? 1
        let dilation = node.ints("dilations")?.first ?? 1
        let pads = node.ints("pads") ?? [0, 0, 0, 0]
        guard w.rank == 4, pads.count == 4, groups >= 1, x.shape[1] == w.shape[1] * groups, w.shape[0] % groups == 0,
              b == nil || b!.shape == [w.shape[0]], stride >= 1, dilation >= 1 else {
            throw fail(node, "input \(x.shape), weight \(w.shape), bias \(b?.shape ?? []), \(groups) groups, pads \(pads) do not fit a 2-D convolution")
        }
        let (kh, kw) = ((w.shape[2] - 1) * dilation + 1, (w.shape[3] - 1) * dilation + 1)
        guard x.shape[2] + pads[0] + pads[2] >= kh, x.shape[3] + pads[1] + pads[3] >= kw else {
            throw fail(node, "the \(kh)×\(kw) window is larger than the padded input \(x.shape)")
        }
        return conv2d(x, weight: w, bias: b, stride: stride, pads: (pads[0], pads[1], pads[2], pads[3]),
                      dilation: dilation, groups: groups)
    }

    private func gemm(_ node: OnnxNode) throws(OnnxError) -> Tensor {
        let (a, b, c) = (try tensor(node, 0), try tensor(node, 1), try optionalTensor(node, 2))
        let (ta, tb) = (node.int("transA", default: 0) != 0, node.int("transB", default: 0) != 0)
        guard a.rank == 2, b.rank == 2, a.shape[ta ? 0 : 1] == b.shape[tb ? 1 : 0] else {
            throw fail(node, "multiplies \(a.shape)\(ta ? "ᵀ" : "") by \(b.shape)\(tb ? "ᵀ" : "")")
        }
        var y = matmul(a, b, transposeA: ta, transposeB: tb)
        let alpha = node.float("alpha", default: 1), beta = node.float("beta", default: 1)
        if alpha != 1 { y = y * alpha }
        if let c {
            guard broadcasts(c.shape, y.shape) else { throw fail(node, "C \(c.shape) does not broadcast to \(y.shape)") }
            y = y + (beta == 1 ? c : c * beta)
        }
        return y
    }

    private func pooling(_ node: OnnxNode) throws(OnnxError) -> Tensor {
        let x = try imageBatch(node)
        guard let size = node.ints("kernel_shape")?.first else { throw fail(node, "kernel_shape is missing") }
        let stride = node.ints("strides")?.first ?? 1
        let padding = node.ints("pads")?.first ?? 0
        guard x.shape[2] + 2 * padding >= size, x.shape[3] + 2 * padding >= size, size >= 1, stride >= 1 else {
            throw fail(node, "window \(size) with padding \(padding) does not fit input \(x.shape)")
        }
        if node.opType == "MaxPool" { return maxPool2d(x, size: size, stride: stride, padding: padding) }
        let padded = zeroPadded(x, top: padding, left: padding, bottom: padding, right: padding)
        return avgPool2d(padded, size: size, stride: stride)
    }

    private mutating func batchNormalization(_ node: OnnxNode) throws(OnnxError) -> Tensor {
        let x = try tensor(node, 0)
        let (scale, shift, mean, variance) = (try tensor(node, 1), try tensor(node, 2), try tensor(node, 3), try tensor(node, 4))
        guard x.rank >= 2, [scale, shift, mean, variance].allSatisfy({ $0.shape == [x.shape[1]] }) else {
            throw fail(node, "input \(x.shape) with scale \(scale.shape), bias \(shift.shape), mean \(mean.shape), variance \(variance.shape)")
        }
        let epsilon = node.float("epsilon", default: 1e-5)
        guard training else {
            return batchNorm(x, scale: scale, shift: shift, mean: mean, variance: variance, epsilon: epsilon)
        }
        let batch = batchNormTraining(x, scale: scale, shift: shift, epsilon: epsilon)
        // PyTorch's update: running ← m·running + (1 − m)·batch (ONNX's momentum m is
        // 1 − PyTorch's), with the unbiased variance.
        let m = node.float("momentum", default: 0.9)
        let n = Float(x.count / x.shape[1])
        guard n > 1 else { throw fail(node, "batch statistics need more than one value per channel, input is \(x.shape)") }
        if let i = node.input(3).flatMap({ parameterIndex[$0] }) {
            updatedStatistics[i] = parameters[i] * m + batch.mean * (1 - m)
        }
        if let i = node.input(4).flatMap({ parameterIndex[$0] }) {
            updatedStatistics[i] = parameters[i] * m + batch.variance * ((1 - m) * n / (n - 1))
        }
        return batch.output
    }

    private func reshape(_ node: OnnxNode) throws(OnnxError) -> Tensor {
        let x = try tensor(node, 0)
        var target = try integers(node, 1).values
        if node.int("allowzero", default: 0) == 0 {
            for i in target.indices where target[i] == 0 {
                guard i < x.rank else { throw fail(node, "target \(target) copies dimension \(i) of \(x.shape)") }
                target[i] = x.shape[i]
            }
        }
        // A graph exported with a fixed batch size writes that size into its reshapes;
        // the batch this run has takes its place.
        if let exported = model.exportedBatch, x.rank > 0, target.first == exported, x.shape[0] != exported {
            target[0] = x.shape[0]
        }
        let known = checkedProduct(target.filter { $0 != -1 }) ?? 0
        let unknown = target.filter { $0 == -1 }.count
        guard target.allSatisfy({ $0 >= -1 && $0 != 0 }), unknown <= 1, known > 0,
              unknown == 1 ? x.count % known == 0 : x.count == known else {
            throw fail(node, "cannot reshape \(x.shape) to \(target)")
        }
        return x.reshaped(target)
    }

    private func concat(_ node: OnnxNode) throws(OnnxError) -> Value {
        let axis = node.int("axis", default: 0)
        guard !node.inputs.isEmpty else { throw fail(node, "has no inputs") }
        let inputs = try node.inputs.indices.map { i throws(OnnxError) in try value(node, i) }
        let integerParts = inputs.compactMap { if case let .integers(v) = $0 { v } else { nil } }
        if integerParts.count == inputs.count {
            guard integerParts.allSatisfy({ $0.shape.count <= 1 }) else { throw fail(node, "integer concatenation of shapes other than 1-D") }
            guard axis == 0 || axis == -1 else { throw fail(node, "axis \(axis) is outside the 1-D shape values it joins (axis 0 or -1)") }
            let joined = integerParts.flatMap(\.values)
            return .integers(IntegerTensor(values: joined, shape: [joined.count]))
        }
        let tensors = try node.inputs.indices.map { i throws(OnnxError) in try tensor(node, i) }
        let rank = tensors[0].rank
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank, tensors.allSatisfy({ t in t.rank == rank && (0..<rank).allSatisfy { $0 == a || t.shape[$0] == tensors[0].shape[$0] } }) else {
            throw fail(node, "cannot concatenate \(tensors.map(\.shape)) along axis \(axis)")
        }
        return .tensor(concatenated(tensors, axis: a))
    }

    private func gather(_ node: OnnxNode) throws(OnnxError) -> Value {
        let data = try integers(node, 0), indices = try integers(node, 1)
        guard node.int("axis", default: 0) == 0, data.shape.count == 1, indices.shape.count <= 1 else {
            throw fail(node, "Gather is supported on 1-D shape values along axis 0 only")
        }
        let n = data.values.count
        let picked = try indices.values.map { i throws(OnnxError) -> Int in
            let j = i < 0 ? i + n : i
            guard j >= 0 && j < n else { throw fail(node, "index \(i) outside \(n) values") }
            return data.values[j]
        }
        return .integers(IntegerTensor(values: picked, shape: indices.shape))
    }

    private func squeezing(_ node: OnnxNode) throws(OnnxError) -> Value {
        let input = try value(node, 0)
        let shape: [Int]
        switch input {
        case let .tensor(t): shape = t.shape
        case let .integers(i): shape = i.shape
        }
        let axes = node.input(1) != nil ? try integers(node, 1).values : (node.ints("axes") ?? [])
        var result: [Int]
        if node.opType == "Unsqueeze" {
            let rank = shape.count + axes.count
            let normalized = Set(axes.map { $0 < 0 ? $0 + rank : $0 })
            guard normalized.count == axes.count, normalized.allSatisfy({ (0..<rank).contains($0) }) else { throw fail(node, "axes \(axes) for shape \(shape)") }
            var remaining = shape.makeIterator()
            result = (0..<rank).map { normalized.contains($0) ? 1 : remaining.next()! }
        } else {
            let normalized = Set(axes.map { $0 < 0 ? $0 + shape.count : $0 })
            guard normalized.allSatisfy({ (0..<shape.count).contains($0) && shape[$0] == 1 }) else { throw fail(node, "axes \(axes) for shape \(shape)") }
            result = shape.enumerated().filter { axes.isEmpty ? $0.element != 1 : !normalized.contains($0.offset) }.map(\.element)
        }
        switch input {
        case let .tensor(t): return .tensor(t.reshaped(result))
        case let .integers(i): return .integers(IntegerTensor(values: i.values, shape: result))
        }
    }
}

/// Whether NumPy broadcasting joins shapes `a` and `b`.
func broadcasts(_ a: [Int], _ b: [Int]) -> Bool {
    zip(a.reversed(), b.reversed()).allSatisfy { $0 == $1 || $0 == 1 || $1 == 1 }
}

/// `index` (negative: from the end) clamped into 0…rank, as ONNX's Shape start/end.
private func clamp(_ index: Int, _ rank: Int) -> Int {
    min(max(index < 0 ? index + rank : index, 0), rank)
}
