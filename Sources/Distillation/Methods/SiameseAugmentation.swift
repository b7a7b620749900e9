import Autodiff
import Foundation

/// Differentiable Siamese augmentation (DSA, Zhao & Bilen 2021) on Amnesia's core: one
/// random affine transform — shift, per-axis scale, rotation, left-right flip — drawn per
/// class and matching step and applied to the real and the synthetic batch alike, so the
/// matched statistics compare the same view of both. Each image is resampled by
/// nearest-neighbour re-indexing with replicated borders (`remapped`), which is linear in
/// the pixels: gradients of every order reach the synthetic images exactly. (DSA itself
/// samples bilinearly with zero padding and also jitters colour and cuts out patches;
/// those are not implemented.)
public struct SiameseAugmentation: Sendable, Equatable {
    /// Shift in pixels (rows, columns), scale factors (rows, columns), rotation in radians,
    /// and whether the image is mirrored left-right.
    public var shift: (dy: Double, dx: Double) = (0, 0)
    public var scale: (sy: Double, sx: Double) = (1, 1)
    public var angle: Double = 0
    public var flip = false

    public init() {}

    /// DSA's ranges: shifts up to 1/8 of the side each way, scales in [1/1.2, 1.2],
    /// rotations up to ±15°, a flip with probability one half.
    public init(drawnFor size: (height: Int, width: Int), using rng: inout SeededGenerator) {
        func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * Double(rng.next() >> 11) / Double(1 << 53) }
        shift = (uniform(-0.125, 0.125) * Double(size.height), uniform(-0.125, 0.125) * Double(size.width))
        scale = (uniform(1 / 1.2, 1.2), uniform(1 / 1.2, 1.2))
        angle = uniform(-15, 15) * Double.pi / 180
        flip = rng.next() & 1 == 1
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.shift == b.shift && a.scale == b.scale && a.angle == b.angle && a.flip == b.flip
    }

    /// `images` [N, C, H, W], every image transformed alike.
    public func apply(_ images: Tensor) -> Tensor {
        remapped(images, sourceOffsets: offsets(shape: images.shape), shape: images.shape)
    }

    /// For each output pixel, the input pixel it reads: the inverse transform of its
    /// centred coordinates (un-shift, un-rotate, un-scale, un-mirror), rounded and clamped.
    func offsets(shape: [Int]) -> [Int32] {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (cy, cx) = (Double(h - 1) / 2, Double(w - 1) / 2)
        let (cosA, sinA) = (Foundation.cos(angle), Foundation.sin(angle))
        var plane = [Int32](repeating: 0, count: h * w)
        for i in 0..<h {
            for j in 0..<w {
                let (u, v) = (Double(i) - cy - shift.dy, Double(j) - cx - shift.dx)
                let (ru, rv) = (cosA * u + sinA * v, -sinA * u + cosA * v)
                let (su, sv) = (ru / scale.sy, (flip ? -rv : rv) / scale.sx)
                let si = min(max(Int((su + cy).rounded()), 0), h - 1)
                let sj = min(max(Int((sv + cx).rounded()), 0), w - 1)
                plane[i * w + j] = Int32(si * w + sj)
            }
        }
        var offsets = [Int32](repeating: 0, count: n * c * h * w)
        for p in 0..<(n * c) {
            for k in 0..<(h * w) { offsets[p * h * w + k] = Int32(p * h * w) + plane[k] }
        }
        return offsets
    }
}
