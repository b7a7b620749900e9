import Foundation
import Vocabulary

/// A split of labeled images held as one flat float array.
///
/// A single contiguous `[Float]` in N,C,H,W order is what the training code consumes
/// directly (batches are slices), so datasets are kept in that layout from load time.
/// Raw pixel values are scaled to [0, 1]; normalization is a separate, explicit step
/// (`Normalization`) so the statistics can be fitted on the training split only and
/// saved alongside the experiment.
public struct LabeledImages: Sendable, Equatable {
    /// What the labels mean.
    public let info: DatasetInfo
    /// Number of images.
    public let count: Int
    /// Channels per image (1 for grayscale, 3 for RGB).
    public let channels: Int
    /// Image height in pixels.
    public let height: Int
    /// Image width in pixels.
    public let width: Int
    /// Row-major N,C,H,W pixel values in [0, 1] (or normalized, after `normalize`).
    public private(set) var pixels: [Float]
    /// One label per image, each in `0..<info.numClasses`.
    public let labels: [Int]

    /// Floats per image (`channels * height * width`).
    public var imageSize: Int { channels * height * width }

    /// Creates a split after checking that the sizes agree and every label names a class,
    /// so later code can index without re-validating.
    ///
    /// - Throws: `DatasetError` (`.sizeMismatch`, `.labelOutOfRange`, `.invalidArgument`).
    public init(info: DatasetInfo, channels: Int, height: Int, width: Int,
                pixels: [Float], labels: [Int]) throws {
        guard channels > 0, height > 0, width > 0 else {
            throw DatasetError(.invalidArgument, file: nil,
                               "\(info.name): image shape \(channels)x\(height)x\(width) must be positive in every dimension")
        }
        let (size, o1) = channels.multipliedReportingOverflow(by: height)
        let (imageSize, o2) = size.multipliedReportingOverflow(by: width)
        let (total, o3) = imageSize.multipliedReportingOverflow(by: labels.count)
        guard !o1, !o2, !o3, total == pixels.count else {
            throw DatasetError(.sizeMismatch, file: nil,
                               "\(info.name): \(pixels.count) pixel values do not match \(labels.count) labels of shape \(channels)x\(height)x\(width)")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= info.numClasses }) {
            throw DatasetError(.labelOutOfRange, file: nil,
                               "\(info.name): label \(labels[bad]) at index \(bad) is outside 0..<\(info.numClasses)")
        }
        self.info = info
        self.count = labels.count
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
        self.labels = labels
    }

    /// Normalizes the pixels in place, so a split is never in memory twice (the
    /// training split of Fashion-MNIST is 188 MB of floats).
    public mutating func normalize(_ normalization: Normalization) throws {
        try normalization.normalize(&pixels, channels: channels, planeSize: height * width)
    }

    /// The pixels of image `index` (C,H,W), as a slice that shares storage.
    /// `index` must be in `0..<count` (like array subscripting).
    public func image(at index: Int) -> ArraySlice<Float> {
        pixels[(index * imageSize)..<((index + 1) * imageSize)]
    }

    /// A new split containing the given images in the given order (repeats allowed),
    /// e.g. for a class-balanced subset or a poisoned/clean partition.
    ///
    /// - Throws: `DatasetError(.invalidArgument)` if an index is out of range.
    public func subset(_ indices: [Int]) throws -> LabeledImages {
        if let bad = indices.first(where: { $0 < 0 || $0 >= count }) {
            throw DatasetError(.invalidArgument, file: nil,
                               "\(info.name): subset index \(bad) is outside 0..<\(count)")
        }
        var newPixels = [Float]()
        newPixels.reserveCapacity(indices.count * imageSize)
        for i in indices { newPixels.append(contentsOf: image(at: i)) }
        return try LabeledImages(info: info, channels: channels, height: height, width: width,
                                 pixels: newPixels, labels: indices.map { labels[$0] })
    }

    /// For each class, the indices of its images in dataset order
    /// (`result[c]` lists the images with label `c`; empty classes give empty arrays).
    public func indicesByClass() -> [[Int]] {
        var result = [[Int]](repeating: [], count: info.numClasses)
        for (i, label) in labels.enumerated() { result[label].append(i) }
        return result
    }

    /// Number of images per class, indexed by label.
    public func classCounts() -> [Int] {
        var result = [Int](repeating: 0, count: info.numClasses)
        for label in labels { result[label] += 1 }
        return result
    }
}

/// A train/test pair as distributed by the dataset authors.
public struct DatasetSplits: Sendable, Equatable {
    /// Training split (also the only split normalization statistics may come from).
    public let train: LabeledImages
    /// Held-out test split.
    public let test: LabeledImages

    /// Pairs two splits (they are expected to share `info` and image shape).
    public init(train: LabeledImages, test: LabeledImages) {
        self.train = train
        self.test = test
    }
}

extension Normalization {
    /// Computes per-channel mean and population standard deviation over all pixels,
    /// accumulating in `Double` so large datasets do not lose precision.
    public static func fit(_ images: LabeledImages) -> Normalization {
        let plane = images.height * images.width
        var sum = [Double](repeating: 0, count: images.channels)
        var sumSq = [Double](repeating: 0, count: images.channels)
        images.pixels.withUnsafeBufferPointer { p in
            for n in 0..<images.count {
                for c in 0..<images.channels {
                    let start = (n * images.channels + c) * plane
                    var s = 0.0, s2 = 0.0
                    for i in start..<(start + plane) {
                        let v = Double(p[i])
                        s += v
                        s2 += v * v
                    }
                    sum[c] += s
                    sumSq[c] += s2
                }
            }
        }
        let n = Double(Swift.max(1, images.count * plane))
        var mean = [Float](), std = [Float]()
        for c in 0..<images.channels {
            let m = sum[c] / n
            let variance = Swift.max(0, sumSq[c] / n - m * m)
            mean.append(Float(m))
            std.append(Float(variance.squareRoot()))
        }
        return Normalization(mean: mean, std: std)
    }

    /// Normalizes a raw N,C,H,W buffer with `channels` channels of `planeSize` pixels each.
    public func apply(to pixels: [Float], channels: Int, planeSize: Int) throws -> [Float] {
        var out = pixels
        try normalize(&out, channels: channels, planeSize: planeSize)
        return out
    }

    /// `apply`, in place.
    func normalize(_ pixels: inout [Float], channels: Int, planeSize: Int) throws {
        try transform(&pixels, channels: channels, planeSize: planeSize) { v, c in (v - mean[c]) / std[c] }
    }

    /// Undoes `apply`, mapping normalized values back to the raw [0, 1] scale
    /// (needed to render or save crafted images).
    public func invert(_ pixels: [Float], channels: Int, planeSize: Int) throws -> [Float] {
        var out = pixels
        try transform(&out, channels: channels, planeSize: planeSize) { v, c in v * std[c] + mean[c] }
        return out
    }

    /// Applies `f(value, channel)` to every value of an N,C,H,W buffer, in place.
    private func transform(_ pixels: inout [Float], channels: Int, planeSize: Int,
                   _ f: (Float, Int) -> Float) throws {
        guard channels == mean.count, channels == std.count, planeSize > 0,
              pixels.count % (channels * planeSize) == 0 else {
            throw DatasetError(.sizeMismatch, file: nil,
                               "normalization has \(mean.count) channels but the data has \(channels) channels of \(planeSize) pixels (\(pixels.count) values); fit or load statistics for this dataset")
        }
        pixels.withUnsafeMutableBufferPointer { values in
            var i = 0
            while i < values.count {
                for c in 0..<channels {
                    for j in i..<(i + planeSize) { values[j] = f(values[j], c) }
                    i += planeSize
                }
            }
        }
    }
}
