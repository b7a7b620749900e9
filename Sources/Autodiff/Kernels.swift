import CBLAS
import CKernels
import Foundation

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
    public var paddedHeight: Int { height + 2 * padding }
    public var paddedWidth: Int { width + 2 * padding }
    /// Values in one input image with its zero padding.
    public var paddedImageSize: Int { channels * paddedHeight * paddedWidth }
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
    /// Whether the AVX2/FMA kernels of CKernels run: on a CPU with AVX2 and FMA, unless the
    /// environment sets `AMNESIA_KERNELS=baseline`, read once. That switch routes every GEMM
    /// and convolution to OpenBLAS and the portable loops, as on a CPU without AVX2, so a
    /// developer can see how much results move with float order on another CPU (CI runs the
    /// numerical suites this way too). Any other value, or none, changes nothing.
    static let hasAVX2FMA = amnesia_has_avx2_fma() && !forcedBaseline

    /// Whether `AMNESIA_KERNELS=baseline` is set.
    static let forcedBaseline = ProcessInfo.processInfo.environment["AMNESIA_KERNELS"] == "baseline"

    /// C = op(A) · op(B) + beta · C, row-major, through OpenBLAS, except for two shapes
    /// where OpenBLAS's packing costs more than the arithmetic and a kernel of our own is
    /// about twice to three times as fast (measured per call on LeNet's shapes):
    /// A · Bᵀ with a long inner dimension and a small result (convolution weight
    /// gradients, e.g. conv1's 6×25 from k = 784), and A · B with at most six rows
    /// (forward passes of convolutions with few output channels, e.g. conv1's 6×784).
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        beta: Float = 0
    ) {
        if hasAVX2FMA, !transposeA {
            if transposeB, k >= 8 * (m + n) {
                amnesia_gemm_nt_dot(Int32(m), Int32(n), Int32(k), a, b, c, beta)
                return
            }
            if !transposeB, m <= 6, n >= 16 {
                amnesia_gemm_nn_few_rows(Int32(m), Int32(n), Int32(k), a, b, c, beta)
                return
            }
        }
        _ = BLASThreads.configured
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
                    beta, c, Int32(n))
    }

    /// The sum of `count` values, in eight interleaved partial sums: a serial sum is one
    /// long dependency chain the compiler may not reorder or vectorize.
    static func sum(_ values: UnsafePointer<Float>, count: Int) -> Float {
        interleavedSum(count, { load(values + $0) }, { values[$0] })
    }

    /// Σ a[i]·b[i] over `count` values, in eight interleaved partial sums as `sum`.
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        interleavedSum(count, { load(a + $0) * load(b + $0) }, { a[$0] * b[$0] })
    }

    /// Σ term(i) for i < count: `block(i)` gives terms i … i+7 added lane by lane, `term(i)`
    /// the terms past the last whole block.
    @inline(__always)
    private static func interleavedSum(_ count: Int, _ block: (Int) -> SIMD8<Float>, _ term: (Int) -> Float) -> Float {
        var partial = SIMD8<Float>()
        var i = 0
        while i &+ 8 <= count {
            partial += block(i)
            i &+= 8
        }
        var total = partial.sum()
        while i < count {
            total += term(i)
            i &+= 1
        }
        return total
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

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

    /// Values past the end that `im2col` may read from its scratch and write to its
    /// columns: both are allocated this much longer.
    static let rowSlack = Int(AMNESIA_ROW_SLACK)

    /// Unfolds every receptive field of one image (`x`, its C×H×W planes) into a column of
    /// `cols` [patchSize, spatial], so its convolution is one GEMM. One image at a time
    /// keeps the columns in cache and lets that GEMM write the NCHW output in place.
    /// `cols` holds `rowSlack` values more than the matrix, `scratch` holds
    /// `g.paddedImageSize + rowSlack` values. (In C: compiled for AVX2 and the baseline.)
    static func im2col(image x: UnsafePointer<Float>, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>) {
        amnesia_im2col(x, g.imageGeometry, cols, scratch)
    }

    /// The adjoint of `im2col(image:)`: adds every entry of `cols` back onto the position
    /// of the image `x` it was read from. `scratch` holds `g.paddedImageSize` values.
    static func col2im(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, addingInto x: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>) {
        amnesia_col2im(cols, g.imageGeometry, x, scratch)
    }
}

extension ConvGeometry {
    /// One image's geometry for the C kernels.
    var imageGeometry: amnesia_conv_geometry {
        amnesia_conv_geometry(channels: Int32(channels), height: Int32(height), width: Int32(width),
                              kernel_height: Int32(kernelHeight), kernel_width: Int32(kernelWidth),
                              stride: Int32(stride), padding: Int32(padding),
                              output_height: Int32(outputHeight), output_width: Int32(outputWidth))
    }
}

/// Which build of the hand-written kernels runs on this CPU: benchmarks record it, since
/// without AVX2 the convolutions fall back to OpenBLAS and baseline SIMD.
public enum KernelSet {
    public static var name: String { Kernels.hasAVX2FMA ? "avx2-fma" : "baseline" }
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
