import CKernels

/// Which kernels compute a convolution and its gradients. The choice travels into the
/// VJPs, so a whole derivative graph, of any order, runs on one set: tests check each
/// set against the others.
public enum ConvolutionKernels: Sendable, CaseIterable {
    /// The direct kernels where they apply (stride 1, at most 16 channels in and out,
    /// padding below the kernel size: LeNet's two layers), with AVX2/FMA where the CPU
    /// has it; im2col and GEMM elsewhere.
    case automatic
    /// im2col and one GEMM per image (col2im for the input gradient), for every shape.
    case lowered
    /// The direct kernels' portable C loops where they apply (what a CPU without AVX2
    /// runs), im2col and GEMM elsewhere.
    case portable

    /// The kernels that run `g`'s convolution with `outChannels` filters.
    func path(for g: ConvGeometry, outChannels: Int) -> ConvolutionPath {
        guard self != .lowered, DirectConvolution.applies(to: g, outChannels: outChannels) else { return .lowered }
        return .direct(avx2: self == .automatic && Kernels.hasAVX2FMA)
    }
}

/// How one convolution op runs: im2col and GEMM, or the direct kernels.
enum ConvolutionPath {
    case lowered
    case direct(avx2: Bool)
}

/// CKernels' direct stride-1 convolutions: every output row accumulates in registers from
/// a zero-padded copy of the image, with no im2col matrix to write and read back and no
/// col2im; for few channels that copy traffic, not arithmetic, dominated the GEMM path.
/// The input gradient is the same correlation of the padded upstream gradient with the
/// flipped kernel, so all three ops share one register-blocked loop.
enum DirectConvolution {
    /// Channels, in and out, up to which the direct kernels run. The input gradient's
    /// correlation reads the output channels, so both sides are bounded.
    static let maxChannels = 16

    static func applies(to g: ConvGeometry, outChannels: Int) -> Bool {
        g.stride == 1 && g.channels <= maxChannels && outChannels <= maxChannels
            && g.padding < g.kernelHeight && g.padding < g.kernelWidth
    }

    /// out[N, O, Ho, Wo] = x ⋆ w (+ bias).
    static func forward(_ x: Tensor, _ w: Tensor, _ g: ConvGeometry, bias: Tensor?, avx2: Bool) -> TensorStorage {
        let outChannels = w.shape[0]
        let storage = TensorStorage(uninitializedCount: g.batch * outChannels * g.spatial)
        withScratch(g, outChannels: outChannels) { scratch in
            amnesia_direct_conv_forward(x.buffer.baseAddress!, Int32(g.batch), g.imageGeometry, Int32(outChannels),
                                        w.buffer.baseAddress!, bias?.buffer.baseAddress, storage.buffer.baseAddress!,
                                        scratch, avx2)
        }
        return storage
    }

    /// The input gradient [N, C, H, W] of the upstream gradient `gy` [N, O, Ho, Wo].
    static func inputGradient(_ gy: Tensor, _ w: Tensor, _ g: ConvGeometry, avx2: Bool) -> TensorStorage {
        let outChannels = w.shape[0]
        let storage = TensorStorage(uninitializedCount: g.batch * g.imageSize)
        withScratch(g, outChannels: outChannels) { scratch in
            amnesia_direct_conv_input_gradient(gy.buffer.baseAddress!, Int32(g.batch), g.imageGeometry,
                                               Int32(outChannels), w.buffer.baseAddress!, storage.buffer.baseAddress!,
                                               scratch, avx2)
        }
        return storage
    }

    /// The weight gradient [O, C, kh, kw], summed over the batch.
    static func weightGradient(_ x: Tensor, _ gy: Tensor, _ g: ConvGeometry, avx2: Bool) -> TensorStorage {
        let outChannels = gy.shape[1]
        let storage = TensorStorage(uninitializedCount: outChannels * g.patchSize)
        withScratch(g, outChannels: outChannels) { scratch in
            amnesia_direct_conv_weight_gradient(x.buffer.baseAddress!, gy.buffer.baseAddress!, Int32(g.batch),
                                                g.imageGeometry, Int32(outChannels), storage.buffer.baseAddress!,
                                                scratch, avx2)
        }
        return storage
    }

    /// Scratch for one call: padded images, flipped weights and upstream rows.
    private static func withScratch(_ g: ConvGeometry, outChannels: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        let scratch = UnsafeMutablePointer<Float>.allocate(
            capacity: Int(amnesia_direct_scratch(g.imageGeometry, Int32(outChannels))))
        defer { scratch.deallocate() }
        body(scratch)
    }
}
