/// An 8-bit image with interleaved channels (H, W, C) on its way from a decoded file to a
/// network input: the steps torchvision applies to a PIL image, with PIL's arithmetic.
struct Raster: Equatable {
    var width: Int
    var height: Int
    /// 1 (gray) or 3 (RGB).
    var channels: Int
    var pixels: [UInt8]

    /// Gray from RGB with ITU-R 601-2 luma in PIL's fixed point (`convert("L")`), or RGB
    /// from gray by copying the value to all three channels (`convert("RGB")`).
    func converted(toChannels target: Int) -> Raster {
        guard target != channels else { return self }
        let count = width * height
        var out = [UInt8](repeating: 0, count: count * target)
        if target == 1 {
            for i in 0..<count {
                let (r, g, b) = (UInt32(pixels[3 * i]), UInt32(pixels[3 * i + 1]), UInt32(pixels[3 * i + 2]))
                out[i] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
            }
        } else {
            for i in 0..<count { (out[3 * i], out[3 * i + 1], out[3 * i + 2]) = (pixels[i], pixels[i], pixels[i]) }
        }
        return Raster(width: width, height: height, channels: target, pixels: out)
    }

    /// Resized to `width`×`height` by PIL's bilinear resampling (what torchvision's `Resize`
    /// does to PIL images, and to tensors with `antialias=True`): separable, horizontal pass
    /// then vertical, each output sample a weighted mean of the inputs under a triangle
    /// filter centred on it, the triangle widened by the scale factor when shrinking (so
    /// every input pixel contributes: antialiasing), weights normalized to sum 1; each pass
    /// rounded to 8 bits, as PIL stores it.
    func resized(width newWidth: Int, height newHeight: Int) -> Raster {
        var image = self
        if newWidth != width { image = image.resampled(horizontal: true, to: newWidth) }
        if newHeight != height { image = image.resampled(horizontal: false, to: newHeight) }
        return image
    }

    /// One resampling pass along rows (`horizontal`) or columns.
    private func resampled(horizontal: Bool, to size: Int) -> Raster {
        let inSize = horizontal ? width : height
        let taps = Raster.triangleWeights(from: inSize, to: size)
        let (outWidth, outHeight) = horizontal ? (size, height) : (width, size)
        var out = [UInt8](repeating: 0, count: outWidth * outHeight * channels)
        for y in 0..<outHeight {
            for x in 0..<outWidth {
                let (first, weights) = taps[horizontal ? x : y]
                for c in 0..<channels {
                    var sum: Float = 0
                    for (k, w) in weights.enumerated() {
                        let source = horizontal ? (y * width + first + k) : ((first + k) * width + x)
                        sum += w * Float(pixels[source * channels + c])
                    }
                    out[(y * outWidth + x) * channels + c] = UInt8(min(255, max(0, sum.rounded())))
                }
            }
        }
        return Raster(width: outWidth, height: outHeight, channels: channels, pixels: out)
    }

    /// Per output position: the first input index it reads and the normalized weights of
    /// the inputs from there (PIL's `precompute_coeffs` with the bilinear filter, support 1).
    static func triangleWeights(from inSize: Int, to outSize: Int) -> [(Int, [Float])] {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filterScale
        return (0..<outSize).map { i in
            let center = (Double(i) + 0.5) * scale
            let first = max(Int(center - support + 0.5), 0)
            let last = min(Int(center + support + 0.5), inSize)
            var weights = (first..<last).map { j in max(0, 1 - abs((Double(j) - center + 0.5) / filterScale)) }
            let total = weights.reduce(0, +)
            if total > 0 { weights = weights.map { $0 / total } }
            return (first, weights.map(Float.init))
        }
    }

    /// The `width`×`height` center, as torchvision's `CenterCrop`: the top and left offsets
    /// are `round((size − crop) / 2)` with ties to even; a crop larger than the image pads it
    /// with black, `(crop − size) / 2` (rounded down) before.
    func centerCropped(width cropWidth: Int, height cropHeight: Int) -> Raster {
        func offset(_ size: Int, _ crop: Int) -> Int {
            crop > size ? -((crop - size) / 2) : Int((Double(size - crop) / 2).rounded(.toNearestOrEven))
        }
        let (top, left) = (offset(height, cropHeight), offset(width, cropWidth))
        var out = [UInt8](repeating: 0, count: cropWidth * cropHeight * channels)
        for y in 0..<cropHeight where (0..<height).contains(y + top) {
            for x in 0..<cropWidth where (0..<width).contains(x + left) {
                let (to, from) = ((y * cropWidth + x) * channels, ((y + top) * width + x + left) * channels)
                for c in 0..<channels { out[to + c] = pixels[from + c] }
            }
        }
        return Raster(width: cropWidth, height: cropHeight, channels: channels, pixels: out)
    }

    /// The size `Resize(N)` gives: the shorter side N, the longer side scaled and truncated.
    func shorterSideSize(_ side: Int) -> (width: Int, height: Int) {
        if width <= height { return (side, max(1, Int(Double(side) * Double(height) / Double(width)))) }
        return (max(1, Int(Double(side) * Double(width) / Double(height))), side)
    }
}
