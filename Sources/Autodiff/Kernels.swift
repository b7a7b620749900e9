import CBLAS
import CKernels

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
    /// Whether the AVX2/FMA kernels of CKernels run on this CPU.
    static let hasAVX2FMA = amnesia_has_avx2_fma()

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
        var partial = SIMD8<Float>()
        var i = 0
        while i &+ 8 <= count {
            partial += UnsafeRawPointer(values + i).loadUnaligned(as: SIMD8<Float>.self)
            i &+= 8
        }
        var total = partial.sum()
        while i < count {
            total += values[i]
            i &+= 1
        }
        return total
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

    /// Values past the end of a row that `copyRoundingUp` may read and write: buffers it
    /// works on are allocated this much longer.
    static let rowSlack = 3

    /// Copies `count` values four at a time, rounding `count` up to a multiple of four:
    /// LeNet's rows (28, 10 values) are too short for the compiler's vectorized loop,
    /// which leaves them scalar. Up to `rowSlack` values past the end of each row are
    /// read and written; a caller writing rows in order overwrites that spill with the
    /// next row.
    @inline(__always)
    static func copyRoundingUp(_ from: UnsafePointer<Float>, to: UnsafeMutablePointer<Float>, count: Int) {
        var j = 0
        while j < count {
            UnsafeMutableRawPointer(to + j).storeBytes(
                of: UnsafeRawPointer(from + j).loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
            j &+= 4
        }
    }

    /// to[0..<count] += from[0..<count], four values at a time with a scalar tail.
    @inline(__always)
    static func add(_ from: UnsafePointer<Float>, into to: UnsafeMutablePointer<Float>, count: Int) {
        var j = 0
        while j &+ 4 <= count {
            let sum = UnsafeRawPointer(to + j).loadUnaligned(as: SIMD4<Float>.self)
                + UnsafeRawPointer(from + j).loadUnaligned(as: SIMD4<Float>.self)
            UnsafeMutableRawPointer(to + j).storeBytes(of: sum, as: SIMD4<Float>.self)
            j &+= 4
        }
        while j < count {
            to[j] += from[j]
            j &+= 1
        }
    }

    /// Copies one image into `padded`, its planes surrounded by `g.padding` zeros: im2col
    /// and col2im then index without bounds tests, and im2col may read `rowSlack` values
    /// past the image (the caller's scratch has room for them).
    private static func padded(_ x: UnsafePointer<Float>, _ g: ConvGeometry,
                               into padded: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        guard g.padding > 0 else {
            padded.update(from: x, count: g.imageSize)
            return UnsafePointer(padded)
        }
        let (ph, pw) = (g.paddedHeight, g.paddedWidth)
        padded.update(repeating: 0, count: g.channels &* ph &* pw)
        for c in 0..<g.channels {
            for r in 0..<g.height {
                (padded + ((c &* ph &+ r &+ g.padding) &* pw &+ g.padding))
                    .update(from: x + (c &* g.height &+ r) &* g.width, count: g.width)
            }
        }
        return UnsafePointer(padded)
    }

    /// Unfolds every receptive field of one image (`x`, its C×H×W planes) into a column of
    /// `cols` [patchSize, spatial], so its convolution is one GEMM. One image at a time
    /// keeps the columns in cache and lets that GEMM write the NCHW output in place.
    /// `cols` holds `rowSlack` values more than the matrix, `scratch` holds
    /// `g.paddedImageSize + rowSlack` values.
    static func im2col(image x: UnsafePointer<Float>, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>) {
        let source = padded(x, g, into: scratch)
        let (oh, ow, s, pw) = (g.outputHeight, g.outputWidth, g.stride, g.paddedWidth)
        var dst = cols
        for c in 0..<g.channels {
            for ki in 0..<g.kernelHeight {
                for kj in 0..<g.kernelWidth {
                    let origin = source + ((c &* g.paddedHeight &+ ki) &* pw &+ kj)
                    for i in 0..<oh {
                        let from = origin + i &* s &* pw
                        if s == 1 {
                            copyRoundingUp(from, to: dst, count: ow)
                        } else {
                            for j in 0..<ow { dst[j] = from[j &* s] }
                        }
                        dst += ow
                    }
                }
            }
        }
    }

    /// The adjoint of `im2col(image:)`: adds every entry of `cols` back onto the position
    /// of the image `x` it was read from. `scratch` holds `g.paddedImageSize` values.
    static func col2im(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, addingInto x: UnsafeMutablePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>) {
        let (oh, ow, s, ph, pw) = (g.outputHeight, g.outputWidth, g.stride, g.paddedHeight, g.paddedWidth)
        let target = g.padding > 0 ? scratch : x
        if g.padding > 0 { scratch.update(repeating: 0, count: g.paddedImageSize) }
        var src = cols
        for c in 0..<g.channels {
            for ki in 0..<g.kernelHeight {
                for kj in 0..<g.kernelWidth {
                    let origin = target + ((c &* ph &+ ki) &* pw &+ kj)
                    for i in 0..<oh {
                        let to = origin + i &* s &* pw
                        if s == 1 {
                            add(src, into: to, count: ow)
                        } else {
                            for j in 0..<ow { to[j &* s] += src[j] }
                        }
                        src += ow
                    }
                }
            }
        }
        guard g.padding > 0 else { return }
        for c in 0..<g.channels {
            for r in 0..<g.height {
                let from = scratch + ((c &* ph &+ r &+ g.padding) &* pw &+ g.padding)
                add(from, into: x + (c &* g.height &+ r) &* g.width, count: g.width)
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
