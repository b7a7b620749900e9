/// y[i] = x[sourceOffsets[i]] (flat, row-major offsets into `x`), shaped `shape`: any
/// re-indexing of a tensor (shifts with replicated borders, flips, crops, permutations)
/// as one differentiable op. Linear, so its VJP is a scatter-add through the same
/// offsets, and the scatter's VJP is this gather again: every order is exact.
public func remapped(_ x: Tensor, sourceOffsets: [Int32], shape: [Int]) -> Tensor {
    precondition(shape.reduce(1, *) == sourceOffsets.count, "\(sourceOffsets.count) offsets for shape \(shape)")
    precondition(sourceOffsets.allSatisfy { $0 >= 0 && Int($0) < x.count }, "an offset is outside the \(x.count) elements")
    return gather(x, IndexMap(sourceOffsets), shape: shape)
}

/// Offsets for `remapped` that translate each image of an [N, C, H, W] batch by
/// (dy[n], dx[n]) pixels and optionally mirror it left-right, replicating the border
/// pixels into the uncovered area: output pixel (i, j) reads input pixel
/// (clamp(i − dy), clamp(j' − dx)), with j' = W − 1 − j when mirrored.
public func translationOffsets(shape: [Int], dy: [Int], dx: [Int], flip: [Bool]) -> [Int32] {
    precondition(shape.count == 4 && dy.count == shape[0] && dx.count == shape[0] && flip.count == shape[0],
                 "one shift and flip per image of \(shape)")
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
    var offsets = [Int32](repeating: 0, count: n * c * h * w)
    var o = 0
    for image in 0..<n {
        for channel in 0..<c {
            let plane = (image * c + channel) * h * w
            for i in 0..<h {
                let si = min(max(i - dy[image], 0), h - 1)
                for j in 0..<w {
                    let jj = flip[image] ? w - 1 - j : j
                    let sj = min(max(jj - dx[image], 0), w - 1)
                    offsets[o] = Int32(plane + si * w + sj)
                    o += 1
                }
            }
        }
    }
    return offsets
}
