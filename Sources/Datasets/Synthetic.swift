import Foundation
import Vocabulary

/// Small, deterministic, learnable image datasets for tests.
///
/// Unit tests of training, distillation and poisoning code need data that a tiny network
/// can learn in milliseconds, that needs no files, and that is identical on every run.
/// Each class gets a smooth template (a stripe pattern whose orientation is unique to the
/// class, plus a few random Gaussian blobs); samples are template + Gaussian noise, clamped
/// to [0, 1]. All randomness comes from the caller's generator, consumed in a fixed order
/// via `next()` only, so a seeded generator gives the same dataset on every platform.
public enum Synthetic {
    /// Makes `classes * perClass` images. Labels cycle `0, 1, ..., classes-1, 0, 1, ...`
    /// so any prefix of the dataset is class-balanced.
    ///
    /// - Parameter noise: standard deviation of the per-pixel Gaussian noise (0 gives exact
    ///   templates; ~0.1-0.3 is a useful range).
    /// - Throws: `DatasetError(.invalidArgument)` for non-positive sizes or negative noise.
    public static func make(classes: Int, perClass: Int, channels: Int, height: Int, width: Int,
                            noise: Float, name: String = "synthetic",
                            using rng: inout some RandomNumberGenerator) throws -> LabeledImages {
        guard classes > 0, perClass > 0, channels > 0, height > 0, width > 0,
              classes <= 1 << 16, channels * height * width <= 1 << 24, classes * perClass <= 1 << 24,
              noise >= 0, noise.isFinite else {
            throw DatasetError(.invalidArgument, file: nil,
                               "Synthetic.make: classes=\(classes) perClass=\(perClass) shape \(channels)x\(height)x\(width) noise=\(noise) must all be positive (noise >= 0) and of modest size")
        }
        let templates = (0..<classes).map { k in
            template(classIndex: k, classes: classes, channels: channels, height: height, width: width, rng: &rng)
        }
        let size = channels * height * width
        let n = classes * perClass
        var pixels = [Float](repeating: 0, count: n * size)
        var labels = [Int](repeating: 0, count: n)
        for i in 0..<n {
            let k = i % classes
            labels[i] = k
            let t = templates[k]
            for j in 0..<size {
                let v = t[j] + noise * gaussian(&rng)
                pixels[i * size + j] = Swift.min(Swift.max(v, 0), 1)
            }
        }
        let info = DatasetInfo(name: name, classNames: (0..<classes).map { "class \($0)" })
        return try LabeledImages(info: info, channels: channels, height: height, width: width,
                                 pixels: pixels, labels: labels)
    }

    /// One class template with values in [0.1, 0.9] (leaving room for noise before clamping).
    private static func template(classIndex k: Int, classes: Int, channels: Int, height: Int, width: Int,
                                 rng: inout some RandomNumberGenerator) -> [Float] {
        // Stripe orientation is spread evenly over [0, π) by class so templates always differ,
        // with a little random jitter; frequency and phase are random.
        let angle = Double.pi * (Double(k) + 0.5 * uniform(&rng)) / Double(classes)
        let frequency = 1.0 + 1.5 * uniform(&rng)  // cycles across the image
        let phase = 2 * Double.pi * uniform(&rng)
        let channelWeights = (0..<channels).map { _ in 0.5 + 0.5 * uniform(&rng) }
        let blobs = (0..<3).map { _ in
            (y: uniform(&rng) * Double(height), x: uniform(&rng) * Double(width),
             sigma: (0.12 + 0.15 * uniform(&rng)) * Double(max(height, width)),
             amplitude: uniform(&rng) * 2 - 1,
             channel: channels > 1 ? Int(uniform(&rng) * Double(channels)) % channels : 0)
        }
        var out = [Float](repeating: 0, count: channels * height * width)
        let (ca, sa) = (cos(angle), sin(angle))
        let scale = 2 * Double.pi * frequency / Double(max(height, width))
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    let u = (Double(x) * ca + Double(y) * sa) * scale + phase
                    var v = 0.5 + 0.25 * sin(u) * channelWeights[c]
                    for b in blobs where b.channel == c || channels == 1 {
                        let dy = Double(y) - b.y, dx = Double(x) - b.x
                        v += 0.25 * b.amplitude * exp(-(dx * dx + dy * dy) / (2 * b.sigma * b.sigma))
                    }
                    out[(c * height + y) * width + x] = Float(Swift.min(Swift.max(v, 0.1), 0.9))
                }
            }
        }
        return out
    }

    /// Uniform in [0, 1) from the top 53 bits, independent of stdlib implementation details.
    private static func uniform(_ rng: inout some RandomNumberGenerator) -> Double {
        Double(rng.next() >> 11) * 0x1p-53
    }

    /// Standard normal sample (Box-Muller).
    private static func gaussian(_ rng: inout some RandomNumberGenerator) -> Float {
        let u1 = 1 - uniform(&rng)  // (0, 1], so log is finite
        let u2 = uniform(&rng)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}
