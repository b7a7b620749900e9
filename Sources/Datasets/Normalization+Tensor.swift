import Autodiff
import Vocabulary

extension Normalization {
    /// `images` ([N, C, H, W], normalized) with every value clamped to its channel's image
    /// range [(0 − mean)/std, (1 − mean)/std]: the normalized images of real pixels.
    public func clampedToPixelRange(_ images: Tensor) -> Tensor {
        let channels = images.shape[1], plane = images.count / (images.shape[0] * channels)
        let source = images.scalars
        return Tensor(shape: images.shape) { out in
            for start in stride(from: 0, to: source.count, by: plane) {
                let c = (start / plane) % channels
                let (low, high) = ((0 - mean[c]) / std[c], (1 - mean[c]) / std[c])
                for i in start..<(start + plane) { out[i] = min(max(source[i], low), high) }
            }
        }
    }
}
