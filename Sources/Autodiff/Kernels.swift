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

    /// Copies one image into `padded`, its planes surrounded by `g.padding` zeros, and
    /// returns where to read it: im2col and col2im then index without bounds tests.
    /// Without padding the image itself is returned.
    private static func padded(_ x: UnsafePointer<Float>, _ g: ConvGeometry,
                               into padded: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        guard g.padding > 0 else { return x }
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
    /// `scratch` holds `g.paddedImageSize` values.
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
                            for j in 0..<ow { dst[j] = from[j] }
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
                            for j in 0..<ow { to[j] += src[j] }
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
                let to = x + (c &* g.height &+ r) &* g.width
                for j in 0..<g.width { to[j] += from[j] }
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
