/// Flat element offsets chosen by a max-pool, shared by the ops that gather and scatter
/// through them.
final class IndexMap: @unchecked Sendable {
    let offsets: [Int32]
    init(_ offsets: [Int32]) { self.offsets = offsets }
}

/// Max-pooling over `size`×`size` windows (stride defaults to `size`), with implicit
/// −∞ padding. The gradient flows through the saved argmax indices: the forward pass is
/// a gather, its VJP a scatter-add, and the scatter's VJP the same gather, so all orders
/// are exact.
public func maxPool2d(_ x: Tensor, size: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    let g = ConvGeometry(input: x.shape, kernelHeight: size, kernelWidth: size, stride: stride ?? size, padding: padding)
    precondition(padding * 2 <= size, "max-pool padding \(padding) must be at most half the window \(size)")
    let (oh, ow) = (g.outputHeight, g.outputWidth)
    var offsets = [Int32](repeating: 0, count: g.batch * g.channels * oh * ow)
    let source = x.buffer.baseAddress!
    precondition(x.count < Int(Int32.max), "max-pool input too large for 32-bit indices")
    offsets.withUnsafeMutableBufferPointer { out in
        if size == 2 && g.stride == 2 && padding == 0 {
            return argmax2x2(source, g, into: out.baseAddress!)
        }
        var o = 0
        for plane in 0..<(g.batch * g.channels) {
            let base = plane * g.height * g.width
            for i in 0..<oh {
                let top = i * g.stride - padding
                let rows = max(top, 0)..<min(top + size, g.height)
                for j in 0..<ow {
                    let left = j * g.stride - padding
                    let columns = max(left, 0)..<min(left + size, g.width)
                    var best = base + rows.lowerBound * g.width + columns.lowerBound, bestValue = source[best]
                    for r in rows {
                        let row = base + r * g.width
                        for c in columns where source[row + c] > bestValue {
                            best = row + c
                            bestValue = source[best]
                        }
                    }
                    out[o] = Int32(best)
                    o += 1
                }
            }
        }
    }
    return gather(x, IndexMap(offsets), shape: [g.batch, g.channels, oh, ow])
}

/// The common 2×2, stride-2 window (LeNet's pools): eight windows at a time with SIMD
/// compares and selects (the comparisons are unpredictable, so no branches), with the
/// same ties as a scan in reading order: the first maximum wins.
private func argmax2x2(_ source: UnsafePointer<Float>, _ g: ConvGeometry, into out: UnsafeMutablePointer<Int32>) {
    let (oh, ow, w) = (g.outputHeight, g.outputWidth, g.width)
    let evenColumns = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14)
    let (right, down, downRight) = (SIMD8<Int32>(repeating: 1), SIMD8<Int32>(repeating: Int32(w)),
                                    SIMD8<Int32>(repeating: Int32(w + 1)))
    var o = 0
    for plane in 0..<(g.batch &* g.channels) {
        let base = plane &* g.height &* w
        for i in 0..<oh {
            let top = base &+ 2 &* i &* w
            var j = 0
            while j &+ 8 <= ow {
                let a = top &+ 2 &* j
                let upper = UnsafeRawPointer(source + a).loadUnaligned(as: SIMD16<Float>.self)
                let lower = UnsafeRawPointer(source + (a &+ w)).loadUnaligned(as: SIMD16<Float>.self)
                let right0 = upper.oddHalf .> upper.evenHalf, right1 = lower.oddHalf .> lower.evenHalf
                let upperMax = upper.evenHalf.replacing(with: upper.oddHalf, where: right0)
                let lowerMax = lower.evenHalf.replacing(with: lower.oddHalf, where: right1)
                let upperOffset = SIMD8<Int32>().replacing(with: right, where: right0)
                let lowerOffset = down.replacing(with: downRight, where: right1)
                let offset = upperOffset.replacing(with: lowerOffset, where: lowerMax .> upperMax)
                let index = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: a)) &+ evenColumns &+ offset
                UnsafeMutableRawPointer(out + o).storeBytes(of: index, as: SIMD8<Int32>.self)
                (o, j) = (o &+ 8, j &+ 8)
            }
            while j < ow {
                let a = top &+ 2 &* j, c = a &+ w
                let (v0, v1, v2, v3) = (source[a], source[a &+ 1], source[c], source[c &+ 1])
                let right0 = v1 > v0, right1 = v3 > v2
                let upper = a &+ (right0 ? 1 : 0), lower = c &+ (right1 ? 1 : 0)
                let below = (right1 ? v3 : v2) > (right0 ? v1 : v0)
                out[o] = Int32(truncatingIfNeeded: below ? lower : upper)
                (o, j) = (o &+ 1, j &+ 1)
            }
        }
    }
}

/// y[i] = x[offsets[i]].
func gather(_ x: Tensor, _ map: IndexMap, shape: [Int]) -> Tensor {
    let storage = TensorStorage(uninitializedCount: map.offsets.count)
    let source = x.buffer, out = storage.buffer
    for (i, offset) in map.offsets.enumerated() { out[i] = source[Int(offset)] }
    return .result(storage, shape: shape, inputs: [x]) { c in [scatterAdd(c.upstream, map, shape: x.shape)] }
}

/// y = zeros(shape); y[offsets[i]] += g[i]. The adjoint of `gather`.
func scatterAdd(_ g: Tensor, _ map: IndexMap, shape: [Int]) -> Tensor {
    let storage = TensorStorage(repeating: 0, count: shape.reduce(1, *))
    let source = g.buffer, out = storage.buffer
    for (i, offset) in map.offsets.enumerated() { out[Int(offset)] += source[i] }
    return .result(storage, shape: shape, inputs: [g]) { c in [gather(c.upstream, map, shape: g.shape)] }
}

/// Average-pooling over `size`×`size` windows (stride defaults to `size`, no padding).
/// Linear, so its VJP is its adjoint, and the adjoint's VJP is the pooling again.
public func avgPool2d(_ x: Tensor, size: Int, stride: Int? = nil) -> Tensor {
    let g = ConvGeometry(input: x.shape, kernelHeight: size, kernelWidth: size, stride: stride ?? size, padding: 0)
    return averagePool(x, g)
}

func averagePool(_ x: Tensor, _ g: ConvGeometry) -> Tensor {
    let (oh, ow) = (g.outputHeight, g.outputWidth)
    let scale = 1 / Float(g.kernelHeight * g.kernelWidth)
    let storage = TensorStorage(uninitializedCount: g.batch * g.channels * oh * ow)
    let source = x.buffer, out = storage.buffer
    let twoByTwo = g.kernelHeight == 2 && g.kernelWidth == 2
    for plane in 0..<(g.batch * g.channels) {
        let base = plane * g.height * g.width
        for i in 0..<oh {
            let (upper, row) = (base + i * g.stride * g.width, (plane * oh + i) * ow)
            if twoByTwo {
                // ConvNet's pools, the window known to the compiler: the same sums in the same order.
                for j in 0..<ow {
                    let (a, b) = (upper + j * g.stride, upper + j * g.stride + g.width)
                    out[row + j] = (source[a] + source[a + 1] + source[b] + source[b + 1]) * scale
                }
                continue
            }
            for j in 0..<ow {
                var total: Float = 0
                for ki in 0..<g.kernelHeight {
                    let start = upper + ki * g.width + j * g.stride
                    for kj in 0..<g.kernelWidth { total += source[start + kj] }
                }
                out[row + j] = total * scale
            }
        }
    }
    return .result(storage, shape: [g.batch, g.channels, oh, ow], inputs: [x]) { c in
        [averagePoolAdjoint(c.upstream, g)]
    }
}

/// Spreads each output gradient evenly over its window: the adjoint of `averagePool`.
func averagePoolAdjoint(_ gy: Tensor, _ g: ConvGeometry) -> Tensor {
    let (oh, ow) = (g.outputHeight, g.outputWidth)
    let scale = 1 / Float(g.kernelHeight * g.kernelWidth)
    let storage = TensorStorage(repeating: 0, count: g.inputShape.reduce(1, *))
    let source = gy.buffer, out = storage.buffer
    // 2×2 windows that do not overlap (ConvNet's) are written, not added to.
    let twoByTwoApart = g.kernelHeight == 2 && g.kernelWidth == 2 && g.stride >= 2
    for plane in 0..<(g.batch * g.channels) {
        let base = plane * g.height * g.width
        for i in 0..<oh {
            let (upper, row) = (base + i * g.stride * g.width, (plane * oh + i) * ow)
            if twoByTwoApart {
                for j in 0..<ow {
                    let (a, b, value) = (upper + j * g.stride, upper + j * g.stride + g.width, source[row + j] * scale)
                    (out[a], out[a + 1], out[b], out[b + 1]) = (value, value, value, value)
                }
                continue
            }
            for j in 0..<ow {
                let value = source[row + j] * scale
                for ki in 0..<g.kernelHeight {
                    let start = upper + ki * g.width + j * g.stride
                    for kj in 0..<g.kernelWidth { out[start + kj] += value }
                }
            }
        }
    }
    return .result(storage, shape: g.inputShape, inputs: [gy]) { c in [averagePool(c.upstream, g)] }
}
