/// Tensors joined along `axis` (every other dimension equal), as `torch.cat`. Linear: its
/// VJP cuts the upstream gradient back into each input's slice with `sliced`, a gather
/// whose own VJP is a scatter-add, so every order is exact.
public func concatenated(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "nothing to concatenate")
    let rank = tensors[0].rank
    let axis = axis < 0 ? axis + rank : axis
    precondition(axis >= 0 && axis < rank, "axis \(axis) is out of range for rank \(rank)")
    for t in tensors {
        precondition(t.rank == rank && (0..<rank).allSatisfy { $0 == axis || t.shape[$0] == tensors[0].shape[$0] },
                     "cannot concatenate \(tensors.map(\.shape)) along axis \(axis)")
    }
    if tensors.count == 1 { return tensors[0] }
    var shape = tensors[0].shape
    shape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
    // Each input is `outer` blocks of `extent × inner` contiguous elements.
    let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
    let storage = TensorStorage(uninitializedCount: shape.reduce(1, *))
    let out = storage.buffer
    var start = 0
    var ranges: [Range<Int>] = []
    for t in tensors {
        let block = t.shape[axis] * inner, source = t.buffer
        for o in 0..<outer {
            let target = o * shape[axis] * inner + start * inner
            for i in 0..<block { out[target + i] = source[o * block + i] }
        }
        ranges.append(start..<(start + t.shape[axis]))
        start += t.shape[axis]
    }
    return .result(storage, shape: shape, inputs: tensors) { c in
        ranges.map { sliced(c.upstream, axis: axis, range: $0) }
    }
}

/// The elements whose index along `axis` lies in `range` (a narrowing, as
/// `Tensor.narrow`), as one `remapped` gather.
public func sliced(_ x: Tensor, axis: Int, range: Range<Int>) -> Tensor {
    let axis = axis < 0 ? axis + x.rank : axis
    precondition(axis >= 0 && axis < x.rank && range.lowerBound >= 0 && range.upperBound <= x.shape[axis],
                 "cannot slice \(range) of axis \(axis) of \(x.shape)")
    if range == 0..<x.shape[axis] { return x }
    var shape = x.shape
    shape[axis] = range.count
    let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
    var offsets: [Int32] = []
    offsets.reserveCapacity(shape.reduce(1, *))
    for o in 0..<outer {
        for k in range {
            let base = (o * x.shape[axis] + k) * inner
            for i in 0..<inner { offsets.append(Int32(base + i)) }
        }
    }
    return remapped(x, sourceOffsets: offsets, shape: shape)
}

/// An NCHW batch with `top`, `left`, `bottom` and `right` rows/columns of zeros added:
/// a `remapped` gather (padding positions read any element) times a constant 0/1 mask,
/// so it is exact to every order.
public func zeroPadded(_ x: Tensor, top: Int, left: Int, bottom: Int, right: Int) -> Tensor {
    precondition(x.rank == 4 && min(top, left, bottom, right) >= 0, "zero-padding needs an NCHW batch and non-negative pads")
    if top == 0 && left == 0 && bottom == 0 && right == 0 { return x }
    let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
    let (ph, pw) = (h + top + bottom, w + left + right)
    var offsets = [Int32](repeating: 0, count: planes * ph * pw)
    var mask = [Float](repeating: 0, count: planes * ph * pw)
    for plane in 0..<planes {
        for i in 0..<h {
            for j in 0..<w {
                let o = (plane * ph + i + top) * pw + j + left
                offsets[o] = Int32((plane * h + i) * w + j)
                mask[o] = 1
            }
        }
    }
    let shape = [x.shape[0], x.shape[1], ph, pw]
    return remapped(x, sourceOffsets: offsets, shape: shape) * Tensor(shape: shape, scalars: mask)
}
