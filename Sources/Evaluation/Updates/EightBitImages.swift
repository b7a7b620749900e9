import Autodiff
import Datasets
import Networks
import Poisoning
import Vocabulary

/// The poison as it arrives after being saved as an 8-bit image (PNG): every pixel
/// clamped to [0, 1] and rounded to a multiple of 1/255 in pixel space.
public struct EightBitImages: VictimUpdate {
    public init() {}
    public var key: String { "png_8bit" }
    public var description: String { "The poison after an 8-bit PNG round trip (pixels clamped and rounded)." }

    public func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome {
        var quantized = poison
        quantized.images = Self.roundTrip(poison)
        return PlainUpdate().apply(parameters, poison: quantized, classifier: classifier)
    }

    /// The poison's images after de-normalizing, clamping, rounding to 8 bits and
    /// normalizing again (`Evaluator.check` has made sure the poison's normalization has
    /// one mean and std per image channel).
    public static func roundTrip(_ poison: PoisonSet) -> Tensor {
        let n = Normalization(mean: poison.metadata.mean, std: poison.metadata.std)
        let (channels, plane) = (poison.imageShape[0], poison.imageShape[1] * poison.imageShape[2])
        let source = poison.images.scalars
        return Tensor(shape: poison.images.shape) { out in
            for i in 0..<source.count {
                let c = (i / plane) % channels
                let pixel = (min(max(source[i] * n.std[c] + n.mean[c], 0), 1) * 255).rounded() / 255
                out[i] = (pixel - n.mean[c]) / n.std[c]
            }
        }
    }
}
