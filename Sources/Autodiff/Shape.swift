extension Tensor {
    /// The sum of all elements, as a scalar.
    public func sum() -> Tensor { sum(toShape: []) }

    /// The mean of all elements, as a scalar.
    public func mean() -> Tensor { sum() * (1 / Float(max(count, 1))) }

    /// Sums along `axes`; the reduced dimensions are kept with extent 1 if `keepingDims`.
    public func sum(alongAxes axes: [Int], keepingDims: Bool = false) -> Tensor {
        let axes = normalized(axes)
        let kept = shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let reduced = sum(toShape: kept)
        return keepingDims ? reduced : reduced.reshaped(kept.enumerated().filter { !axes.contains($0.offset) }.map(\.element))
    }

    /// The mean along `axes`; see `sum(alongAxes:keepingDims:)`.
    public func mean(alongAxes axes: [Int], keepingDims: Bool = false) -> Tensor {
        let n = normalized(axes).reduce(1) { $0 * shape[$1] }
        return sum(alongAxes: axes, keepingDims: keepingDims) * (1 / Float(max(n, 1)))
    }

    /// The same elements under a new shape with the same element count; one dimension
    /// may be −1 and is inferred.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let unknown = newShape.firstIndex(of: -1) {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[unknown] = count / known
        }
        precondition(resolved.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        if resolved == shape { return self }
        let original = shape
        return .result(storage, shape: resolved, inputs: [self]) { c in [c.upstream.reshaped(original)] }
    }

    /// The dimensions reordered: result dimension `i` is this tensor's `permutation[i]`.
    public func permuted(_ permutation: [Int]) -> Tensor {
        precondition(permutation.sorted() == Array(0..<rank), "\(permutation) is not a permutation of \(rank) axes")
        if permutation == Array(0..<rank) { return self }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, p) in permutation.enumerated() { inverse[p] = i }
        let storage = Kernels.permute(buffer, shape: shape, permutation: permutation)
        return .result(storage, shape: permutation.map { shape[$0] }, inputs: [self]) { c in
            [c.upstream.permuted(inverse)]
        }
    }

    /// A matrix transposed (the last two dimensions swapped).
    public func transposed() -> Tensor {
        precondition(rank >= 2, "transpose needs at least 2 dimensions, shape is \(shape)")
        var permutation = Array(0..<rank)
        permutation.swapAt(rank - 1, rank - 2)
        return permuted(permutation)
    }

    private func normalized(_ axes: [Int]) -> Set<Int> {
        Set(axes.map { axis in
            let a = axis < 0 ? axis + rank : axis
            precondition(a >= 0 && a < rank, "axis \(axis) is out of range for shape \(shape)")
            return a
        })
    }
}
