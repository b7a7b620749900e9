/// The 2-D convolution with the options PyTorch layers and ONNX `Conv` nodes carry beyond
/// `conv2d`'s: pads that differ per side, dilation and channel groups. Written with
/// differentiable ops (`zeroPadded`, a dilated copy of the kernel, `sliced` and
/// `concatenated`), so gradients of every order come with it; the plain case is `conv2d`
/// itself.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int,
                   pads: (top: Int, left: Int, bottom: Int, right: Int), dilation: Int, groups: Int) -> Tensor {
    precondition(groups >= 1 && x.shape[1] % groups == 0 && weight.shape[0] % groups == 0
                 && weight.shape[1] * groups == x.shape[1],
                 "conv2d with \(groups) groups: input \(x.shape) and weight \(weight.shape) do not fit")
    let kernel = dilation == 1 ? weight : dilatedKernel(weight, dilation: dilation)
    let symmetric = pads.top == pads.bottom && pads.left == pads.right && pads.top == pads.left
    let input = symmetric ? x : zeroPadded(x, top: pads.top, left: pads.left, bottom: pads.bottom, right: pads.right)
    let padding = symmetric ? pads.top : 0
    if groups == 1 { return conv2d(input, weight: kernel, bias: bias, stride: stride, padding: padding) }
    let (inPer, outPer) = (x.shape[1] / groups, weight.shape[0] / groups)
    let outputs = (0..<groups).map { g in
        conv2d(sliced(input, axis: 1, range: (g * inPer)..<((g + 1) * inPer)),
               weight: sliced(kernel, axis: 0, range: (g * outPer)..<((g + 1) * outPer)),
               bias: bias.map { sliced($0, axis: 0, range: (g * outPer)..<((g + 1) * outPer)) },
               stride: stride, padding: padding)
    }
    return concatenated(outputs, axis: 1)
}

/// An OIHW kernel with `dilation − 1` zeros between its taps: a dilated convolution is
/// the plain convolution with this larger kernel.
public func dilatedKernel(_ weight: Tensor, dilation: Int) -> Tensor {
    precondition(weight.rank == 4 && dilation >= 1, "dilation needs an OIHW kernel and a dilation ≥ 1")
    let (planes, kh, kw) = (weight.shape[0] * weight.shape[1], weight.shape[2], weight.shape[3])
    let (dh, dw) = ((kh - 1) * dilation + 1, (kw - 1) * dilation + 1)
    var offsets = [Int32](repeating: 0, count: planes * dh * dw)
    var mask = [Float](repeating: 0, count: planes * dh * dw)
    for plane in 0..<planes {
        for i in 0..<kh {
            for j in 0..<kw {
                let o = (plane * dh + i * dilation) * dw + j * dilation
                offsets[o] = Int32((plane * kh + i) * kw + j)
                mask[o] = 1
            }
        }
    }
    let shape = [weight.shape[0], weight.shape[1], dh, dw]
    return remapped(weight, sourceOffsets: offsets, shape: shape) * Tensor(shape: shape, scalars: mask)
}
