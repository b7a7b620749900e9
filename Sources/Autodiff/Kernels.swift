import CBLAS

/// Geometry of a 2-D convolution or pooling window over an NCHW batch.
public struct ConvGeometry: Hashable, Sendable {
    public let batch, channels, height, width: Int
    public let kernelHeight, kernelWidth: Int
    public let stride, padding: Int

    public var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    public var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Rows of the im2col matrix: one per (channel, kernel row, kernel column).
    public var patchSize: Int { channels * kernelHeight * kernelWidth }
    /// Output positions of one image: the columns of its im2col matrix.
    public var spatial: Int { outputHeight * outputWidth }
    /// Values in one input image.
    public var imageSize: Int { channels * height * width }
    public var inputShape: [Int] { [batch, channels, height, width] }

    public init(input shape: [Int], kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int) {
        precondition(shape.count == 4, "expected an NCHW input, got shape \(shape)")
        precondition(stride > 0 && padding >= 0, "stride must be positive and padding non-negative")
        (batch, channels, height, width) = (shape[0], shape[1], shape[2], shape[3])
        (self.kernelHeight, self.kernelWidth, self.stride, self.padding) = (kernelHeight, kernelWidth, stride, padding)
        precondition(height + 2 * padding >= kernelHeight && width + 2 * padding >= kernelWidth,
                     "kernel \(kernelHeight)×\(kernelWidth) is larger than the padded input \(shape)")
    }
}

/// The numerical kernels behind the ops: tight loops over raw buffers and BLAS calls.
/// Nothing here knows about the graph.
enum Kernels {
    /// C = alpha · op(A) · op(B) + beta · C, row-major, through OpenBLAS.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        beta: Float = 0
    ) {
        _ = BLASThreads.configured
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
                    beta, c, Int32(n))
    }

    /// A copy of `source` with its dimensions reordered by `permutation`.
    static func permute(_ source: UnsafeBufferPointer<Float>, shape: [Int], permutation: [Int]) -> TensorStorage {
        var sourceStrides = [Int](repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) {
            sourceStrides[i] = sourceStrides[i + 1] * shape[i + 1]
        }
        let outShape = permutation.map { shape[$0] }
        let strides = permutation.map { sourceStrides[$0] }
        let storage = TensorStorage(uninitializedCount: source.count)
        let out = storage.buffer
        Broadcast.forEachRow(outShape, strides, strides) { o, s, _, length, step, _ in
            for i in 0..<length { out[o + i] = source[s + i * step] }
        }
        return storage
    }

    /// The output columns j whose input column j·stride − padding + kj lies inside the
    /// image: lets im2col and col2im copy runs without per-element bounds tests.
    @inline(__always)
    private static func validColumns(_ g: ConvGeometry, kernelColumn kj: Int) -> Range<Int> {
        let shift = g.padding - kj
        let low = shift > 0 ? (shift + g.stride - 1) / g.stride : 0
        let high = min(g.outputWidth, (g.width + shift + g.stride - 1) / g.stride)
        return low..<max(low, high)
    }

    /// Unfolds every receptive field of one image (`x`, its C×H×W planes) into a column of
    /// `cols` [patchSize, spatial], so its convolution is one GEMM. One image at a time
    /// keeps the columns in cache and lets that GEMM write the NCHW output in place.
    static func im2col(image x: UnsafePointer<Float>, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>) {
        let (oh, ow, s) = (g.outputHeight, g.outputWidth, g.stride)
        for c in 0..<g.channels {
            let plane = x + c * g.height * g.width
            for ki in 0..<g.kernelHeight {
                for kj in 0..<g.kernelWidth {
                    let row = cols + ((c * g.kernelHeight + ki) * g.kernelWidth + kj) * g.spatial
                    let valid = validColumns(g, kernelColumn: kj)
                    for i in 0..<oh {
                        let dst = row + i * ow
                        let ih = i * s - g.padding + ki
                        guard ih >= 0 && ih < g.height else {
                            dst.update(repeating: 0, count: ow)
                            continue
                        }
                        // Input offset of output column j is origin + j·stride.
                        let origin = plane + ih * g.width - g.padding + kj
                        dst.update(repeating: 0, count: valid.lowerBound)
                        if s == 1 {
                            for j in valid { dst[j] = origin[j] }
                        } else {
                            for j in valid { dst[j] = origin[j * s] }
                        }
                        (dst + valid.upperBound).update(repeating: 0, count: ow - valid.upperBound)
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col(image:)`: adds every entry of `cols` back onto the position
    /// of the image `x` it was read from.
    static func col2im(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, addingInto x: UnsafeMutablePointer<Float>) {
        let (oh, ow, s) = (g.outputHeight, g.outputWidth, g.stride)
        for c in 0..<g.channels {
            let plane = x + c * g.height * g.width
            for ki in 0..<g.kernelHeight {
                for kj in 0..<g.kernelWidth {
                    let row = cols + ((c * g.kernelHeight + ki) * g.kernelWidth + kj) * g.spatial
                    let valid = validColumns(g, kernelColumn: kj)
                    for i in 0..<oh {
                        let ih = i * s - g.padding + ki
                        guard ih >= 0 && ih < g.height else { continue }
                        let src = row + i * ow
                        let origin = plane + ih * g.width - g.padding + kj
                        if s == 1 {
                            // Unit stride: a contiguous add the compiler vectorizes.
                            for j in valid { origin[j] += src[j] }
                        } else {
                            for j in valid { origin[j * s] += src[j] }
                        }
                    }
                }
            }
        }
    }
}

/// The number of threads OpenBLAS uses inside one GEMM.
///
/// Amnesia parallelizes above BLAS (victims, batches side by side, one core each), which
/// for LeNet-sized matrices is faster than splitting each small GEMM, so BLAS runs one
/// thread per call from the first GEMM on. Changing the count while GEMMs run on other
/// threads is unsafe in OpenBLAS: set it, if at all, once before any work starts.
public enum BLASThreads {
    /// Set to one thread before the first GEMM (thread-safe lazy initialization).
    static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    public static var count: Int {
        get {
            _ = configured
            return Int(openblas_get_num_threads())
        }
        set {
            _ = configured
            openblas_set_num_threads(Int32(newValue))
        }
    }
}
