/// NumPy-style broadcasting: shapes are aligned on the right, and a dimension of 1 (or a
/// missing one) stretches to match. This covers scalars, per-row vectors `[K]` against
/// `[N, K]`, and per-channel vectors `[1, C, 1, 1]` against `[N, C, H, W]`.
enum Broadcast {
    /// The shape both operands broadcast to, or a precondition failure naming both.
    static func shape(_ a: [Int], _ b: [Int]) -> [Int] {
        if a == b { return a }
        let rank = max(a.count, b.count)
        return (0..<rank).map { i in
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            precondition(da == db || da == 1 || db == 1, "shapes \(a) and \(b) do not broadcast")
            return da == 1 ? db : da
        }
    }

    /// Element strides of `shape` viewed as `target`: 0 along stretched dimensions.
    static func strides(of shape: [Int], in target: [Int]) -> [Int] {
        let offset = target.count - shape.count
        precondition(offset >= 0, "shape \(shape) has more dimensions than \(target)")
        var result = [Int](repeating: 0, count: target.count)
        var step = 1
        for i in (0..<shape.count).reversed() {
            precondition(shape[i] == target[i + offset] || shape[i] == 1,
                         "shape \(shape) does not broadcast to \(target)")
            result[i + offset] = shape[i] == 1 ? 0 : step
            step *= shape[i]
        }
        return result
    }

    /// Calls `run` for each contiguous run of the row-major output `shape`, with the
    /// starting element offsets in the output and in two strided operands, and their inner
    /// strides. One closure call per row keeps the inner loops tight. Rows are as long as
    /// both operands allow: trailing dimensions that each operand steps through evenly are
    /// merged (a per-channel [1, C, 1, 1] operand against [N, C, H, W] gives rows of H·W,
    /// not W), unless `merging` is off: a reduction keeps rows of the last dimension, since
    /// merging would change the order of its float sums (and the outcomes of the tiny
    /// learning tests with it). Inlined, so that each caller's element operation is
    /// inlined into its rows' loops and vectorized, instead of called once per element.
    @inline(__always)
    static func forEachRow(
        _ fullShape: [Int], _ fullStridesA: [Int], _ fullStridesB: [Int], merging: Bool = true,
        _ run: (_ out: Int, _ a: Int, _ b: Int, _ length: Int, _ strideA: Int, _ strideB: Int) -> Void
    ) {
        let count = fullShape.reduce(1, *)
        guard count > 0 else { return }
        var (shape, stridesA, stridesB) = ([Int](), [Int](), [Int]())  // merged, innermost first
        for d in fullShape.indices.reversed() where fullShape[d] != 1 || (!merging && d == fullShape.count - 1) {
            if merging, let extent = shape.last, fullStridesA[d] == stridesA.last! * extent, fullStridesB[d] == stridesB.last! * extent {
                shape[shape.count - 1] *= fullShape[d]
            } else {
                shape.append(fullShape[d]); stridesA.append(fullStridesA[d]); stridesB.append(fullStridesB[d])
            }
        }
        guard !shape.isEmpty else { return run(0, 0, 0, 1, 0, 0) }  // a single element
        (shape, stridesA, stridesB) = (shape.reversed(), stridesA.reversed(), stridesB.reversed())
        let length = shape[shape.count - 1]
        let rank = shape.count
        let innerA = stridesA[rank - 1], innerB = stridesB[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var offsetA = 0, offsetB = 0
        for out in stride(from: 0, to: count, by: length) {
            run(out, offsetA, offsetB, length, innerA, innerB)
            var dim = rank - 2
            while dim >= 0 {
                index[dim] += 1
                offsetA += stridesA[dim]
                offsetB += stridesB[dim]
                if index[dim] < shape[dim] { break }
                offsetA -= stridesA[dim] * shape[dim]
                offsetB -= stridesB[dim] * shape[dim]
                index[dim] = 0
                dim -= 1
            }
        }
    }
}

extension Tensor {
    /// Sums this tensor down to `target`, a shape it was broadcast from: the reverse of
    /// broadcasting, and the VJP of every broadcasting op.
    public func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let source = self
        let stridesOut = Broadcast.strides(of: target, in: shape)
        let identity = Broadcast.strides(of: shape, in: shape)
        let storage = TensorStorage(repeating: 0, count: target.reduce(1, *))
        let x = buffer, out = storage.buffer
        Broadcast.forEachRow(shape, identity, stridesOut, merging: false) { xOffset, _, outOffset, length, _, outStride in
            if outStride == 0 {
                out[outOffset] += Kernels.sum(x.baseAddress! + xOffset, count: length)
            } else {
                for i in 0..<length { out[outOffset + i] += x[xOffset + i] }
            }
        }
        return .result(storage, shape: target, inputs: [self]) { c in
            [c.upstream.broadcast(to: source.shape)]
        }
    }

    /// This tensor stretched to `target` by broadcasting.
    public func broadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let sourceShape = shape
        let stridesX = Broadcast.strides(of: shape, in: target)
        let storage = TensorStorage(uninitializedCount: target.reduce(1, *))
        let x = buffer, out = storage.buffer
        Broadcast.forEachRow(target, stridesX, stridesX) { outOffset, xOffset, _, length, xStride, _ in
            if xStride == 0 {
                let value = x[xOffset]
                for i in 0..<length { out[outOffset + i] = value }
            } else {
                for i in 0..<length { out[outOffset + i] = x[xOffset + i] }
            }
        }
        return .result(storage, shape: target, inputs: [self]) { c in
            [c.upstream.sum(toShape: sourceShape)]
        }
    }
}

/// Applies `op` elementwise over the broadcast of `a` and `b`.
@inline(__always)
func broadcastBinary(_ a: Tensor, _ b: Tensor, _ op: (Float, Float) -> Float) -> (TensorStorage, [Int]) {
    let shape = Broadcast.shape(a.shape, b.shape)
    let storage = TensorStorage(uninitializedCount: shape.reduce(1, *))
    let x = a.buffer, y = b.buffer, out = storage.buffer
    if a.shape == b.shape {
        for i in 0..<out.count { out[i] = op(x[i], y[i]) }
    } else if b.count == 1 {
        let value = y[0]
        for i in 0..<out.count { out[i] = op(x[i], value) }
    } else if a.count == 1 {
        let value = x[0]
        for i in 0..<out.count { out[i] = op(value, y[i]) }
    } else {
        let sa = Broadcast.strides(of: a.shape, in: shape), sb = Broadcast.strides(of: b.shape, in: shape)
        Broadcast.forEachRow(shape, sa, sb) { o, ia, ib, length, da, db in
            switch (da, db) {
            case (1, 0):
                let value = y[ib]
                for i in 0..<length { out[o + i] = op(x[ia + i], value) }
            case (0, 1):
                let value = x[ia]
                for i in 0..<length { out[o + i] = op(value, y[ib + i]) }
            case (1, 1):
                for i in 0..<length { out[o + i] = op(x[ia + i], y[ib + i]) }
            default:
                for i in 0..<length { out[o + i] = op(x[ia + i * da], y[ib + i * db]) }
            }
        }
    }
    return (storage, shape)
}
