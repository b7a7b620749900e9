import Autodiff
import Specs

/// Random image transformations drawn per training batch from the victim's seeded
/// generator: torchvision's `RandomCrop(size, padding: crop)` then
/// `RandomHorizontalFlip()`, the usual pipeline for small images. The crop pads with
/// black (raw pixel 0, as torchvision pads before `Normalize`).
public struct Augmentation: Codable, Sendable, Equatable, StrictlyDecodable {
    /// Pixels of padding on each side before a random crop back to the image's size
    /// (the image shifts by up to `crop` pixels each way); 0: no crop.
    public var crop: Int = 0
    /// Mirror each image left-right with probability ½.
    public var flip: Bool = false

    public enum CodingKeys: String, CodingKey, CaseIterable { case crop, flip }

    public init(crop: Int = 0, flip: Bool = false) { (self.crop, self.flip) = (crop, flip) }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        crop = try c.value(.crop, or: crop)
        flip = try c.value(.flip, or: flip)
    }

    /// Whether batches are used as stored (then nothing is drawn from the generator, so
    /// recipes without augmentation train exactly as before it existed).
    public var isIdentity: Bool { crop == 0 && !flip }

    /// One image's draw: the crop's offset from the centre, and whether it is mirrored.
    public struct View: Sendable, Equatable {
        public let dy: Int, dx: Int
        public let mirrored: Bool

        public init(dy: Int, dx: Int, mirrored: Bool) { (self.dy, self.dx, self.mirrored) = (dy, dx, mirrored) }
    }

    /// The views of `count` images, drawn in torchvision's order (row offset, column
    /// offset, flip) image by image; none when `isIdentity`.
    public func draw(count: Int, using generator: inout SeededGenerator) -> [View] {
        guard !isIdentity else { return [] }
        return (0..<count).map { _ in
            let dy = crop > 0 ? Int.random(in: -crop...crop, using: &generator) : 0
            let dx = crop > 0 ? Int.random(in: -crop...crop, using: &generator) : 0
            return View(dy: dy, dx: dx, mirrored: flip && Bool.random(using: &generator))
        }
    }

    /// `images` [N, C, H, W] seen through `views` (one per image): pixel (y, x) of image
    /// n is the original's (y + dy, x' + dx) with x' = W − 1 − x when mirrored, or
    /// `fill[c]` where that falls outside the image.
    public static func apply(_ views: some Collection<View>, to images: Tensor, fill: [Float]) -> Tensor {
        let (channels, height, width) = (images.shape[1], images.shape[2], images.shape[3])
        precondition(views.count == images.shape[0] && fill.count == channels, "one view per image and one fill value per channel")
        let source = images.buffer
        return Tensor(shape: images.shape) { out in
            for (n, view) in views.enumerated() {
                for c in 0..<channels {
                    let plane = (n * channels + c) * height * width
                    for y in 0..<height {
                        let sy = y + view.dy
                        for x in 0..<width {
                            let sx = (view.mirrored ? width - 1 - x : x) + view.dx
                            out[plane + y * width + x] = (0..<height).contains(sy) && (0..<width).contains(sx)
                                ? source[plane + sy * width + sx] : fill[c]
                        }
                    }
                }
            }
        }
    }
}
