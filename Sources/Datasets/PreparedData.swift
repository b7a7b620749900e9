import Autodiff
import Foundation
import Vocabulary

/// A dataset ready for networks: both splits normalized with per-channel statistics fit
/// on the training split, which are recorded wherever the data's space matters (zoo
/// manifests, poison sets).
public struct PreparedData: Sendable {
    public let info: DatasetInfo
    public let normalization: Normalization
    /// Normalized training split.
    public let train: LabeledImages
    /// Normalized test split.
    public let test: LabeledImages
    /// [channels, height, width].
    public var inputShape: [Int] { [train.channels, train.height, train.width] }
    /// What loading read and skipped, for the user (image folders only).
    public private(set) var summary: String?

    public init(splits: consuming DatasetSplits, normalization: Normalization? = nil) throws {
        let (trainShape, testShape) = ([splits.train.channels, splits.train.height, splits.train.width],
                                       [splits.test.channels, splits.test.height, splits.test.width])
        guard trainShape == testShape else {
            throw DatasetError(.sizeMismatch, file: nil, "the test images are \(testShape) but the training images are \(trainShape); both splits must be the same dataset")
        }
        let normalization = normalization ?? Normalization.fit(splits.train)
        var (train, test) = (splits.train, splits.test)
        // Dropping the splits leaves each pixel array with one owner, so it is normalized
        // in place rather than copied.
        _ = consume splits
        try train.normalize(normalization)
        try test.normalize(normalization)
        (info, self.normalization, self.train, self.test) = (train.info, normalization, train, test)
    }

    /// Loads a dataset by name: `fashion-mnist`, `mnist`, `kmnist` (IDX files), `cifar10`
    /// (binary batches), `image-folder` (the user's PNGs and JPEGs, read with `images`, the
    /// decoded images kept in the file `cache`; see `ImageFolder`), or `synthetic` (a small
    /// generated set for tests and demos). The normalization is `normalization`, else the
    /// one `images` gives, else fitted on the training split.
    public static func load(dataset: String, directory: String? = nil, normalization: Normalization? = nil,
                            images: ImageOptions? = nil, cache: URL? = nil) throws -> PreparedData {
        if let images, !images.isEmpty, dataset.lowercased() != ImageFolder.datasetName {
            throw DatasetError(.invalidArgument, file: nil, "image options (resize, center crop, channels, mean/std, split, skip-bad) apply to dataset image-folder only, not \(dataset)")
        }
        let url = directory.map { URL(fileURLWithPath: $0) }
        switch dataset.lowercased() {
        case "cifar10", "cifar-10":
            guard let url else {
                throw DatasetError(.invalidArgument, file: nil, "cifar10 has no default location: set data_dir to the folder with data_batch_1.bin … test_batch.bin")
            }
            return try PreparedData(splits: CIFAR10.load(directory: url), normalization: normalization)
        case ImageFolder.datasetName:
            guard let url else {
                throw DatasetError(.invalidArgument, file: nil, "image-folder needs its root folder: set data_dir (--data-dir) to the folder holding train/<class>/ and test/<class>/ (PNG or JPEG images)")
            }
            let loaded = try ImageFolder.load(directory: url, options: images ?? ImageOptions(), cache: cache)
            var data = try PreparedData(splits: loaded.splits, normalization: normalization ?? images?.givenNormalization)
            data.summary = loaded.summary
            return data
        case "synthetic":
            return try PreparedData(splits: syntheticSplits(), normalization: normalization)
        default:
            return try PreparedData(splits: MNISTFamily.load(directory: url, name: dataset), normalization: normalization)
        }
    }

    /// Four classes of 28×28 single-channel images, 48 training and 24 test images each:
    /// small enough for unit tests, learnable by LeNet in a few epochs.
    static func syntheticSplits() throws -> DatasetSplits {
        var rng = SeededGenerator(seed: 20_181_110)
        let all = try Synthetic.make(classes: 4, perClass: 72, channels: 1, height: 28, width: 28, noise: 0.15, using: &rng)
        let byClass = all.indicesByClass()
        return DatasetSplits(train: try all.subset(byClass.flatMap { $0.prefix(48) }),
                             test: try all.subset(byClass.flatMap { $0.suffix(24) }))
    }
}

extension LabeledImages {
    /// The images at `indices` as one [n, C, H, W] tensor.
    public func batch(_ indices: some Collection<Int>) -> Tensor {
        let size = imageSize
        return pixels.withUnsafeBufferPointer { source in
            Tensor(shape: [indices.count, channels, height, width]) { out in
                for (row, index) in indices.enumerated() {
                    let destination = out.baseAddress! + row * size
                    destination.update(from: source.baseAddress! + index * size, count: size)
                }
            }
        }
    }
}
