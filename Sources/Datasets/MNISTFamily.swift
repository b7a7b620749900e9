import Foundation
import Vocabulary

/// Loader for the MNIST family (MNIST, Fashion-MNIST, KMNIST), which share the IDX file
/// layout and 28×28 grayscale images with 10 classes.
public enum MNISTFamily {
    /// The supported datasets; raw values are the names used on the command line.
    public enum Variant: String, Sendable, CaseIterable {
        /// Zalando Fashion-MNIST (clothing).
        case fashionMNIST = "fashion-mnist"
        /// Handwritten digits.
        case mnist = "mnist"
        /// Kuzushiji-MNIST (cursive Japanese hiragana).
        case kmnist = "kmnist"

        /// Human-readable class names, indexed by label.
        public var classNames: [String] {
            switch self {
            case .fashionMNIST:
                return ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
            case .mnist:
                return (0..<10).map(String.init)
            case .kmnist:
                return ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
            }
        }

        /// Where the Debian package installs the files, if there is one.
        public var defaultDirectory: URL? {
            switch self {
            case .fashionMNIST: return URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist", isDirectory: true)
            case .mnist, .kmnist: return nil
            }
        }

        /// Metadata attached to loaded splits.
        public var info: DatasetInfo { DatasetInfo(name: rawValue, classNames: classNames) }
    }

    /// Which of the two distributed splits to read.
    public enum Split: String, Sendable, CaseIterable {
        /// The 60 000-image training split (`train-*` files).
        case train
        /// The 10 000-image test split (`t10k-*` files).
        case test

        /// File-name prefix used by the IDX distribution (`t10k` for the test split).
        public var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    /// Loads both splits of the dataset called `name` (`"fashion-mnist"`, `"mnist"` or
    /// `"kmnist"`) from `directory`, or from the variant's default directory when nil.
    ///
    /// - Throws: `DatasetError(.invalidArgument)` for an unknown name, otherwise see
    ///   `load(directory:variant:)`.
    public static func load(directory: URL? = nil, name: String) throws -> DatasetSplits {
        guard let variant = Variant(rawValue: name.lowercased()) else {
            let known = Variant.allCases.map(\.rawValue).joined(separator: ", ")
            throw DatasetError(.invalidArgument, file: nil, "unknown dataset '\(name)'; expected one of: \(known)")
        }
        return try load(directory: directory, variant: variant)
    }

    /// Loads both splits of `variant`.
    ///
    /// - Throws: `DatasetError` naming the missing or malformed file and how to fix it.
    public static func load(directory: URL? = nil, variant: Variant) throws -> DatasetSplits {
        let dir = try resolveDirectory(directory, variant: variant)
        return DatasetSplits(train: try loadSplit(directory: dir, variant: variant, split: .train),
                             test: try loadSplit(directory: dir, variant: variant, split: .test))
    }

    /// Loads one split from `directory` (no default lookup), accepting each file either
    /// plain or with a `.gz` suffix. Checks that image and label counts agree and that
    /// labels are below 10.
    public static func loadSplit(directory: URL, variant: Variant, split: Split) throws -> LabeledImages {
        let imagesURL = try locate(directory, "\(split.filePrefix)-images-idx3-ubyte", variant: variant)
        let labelsURL = try locate(directory, "\(split.filePrefix)-labels-idx1-ubyte", variant: variant)
        let images = try IDX.read(contentsOf: imagesURL)
        let labels = try IDX.read(contentsOf: labelsURL)
        guard images.dimensions.count == 3, images.dimensions[1] > 0, images.dimensions[2] > 0 else {
            throw DatasetError(.badDimensions, file: imagesURL.path,
                               "image file has dimensions \(images.dimensions), expected [count, height, width]; is this a labels file?")
        }
        guard labels.dimensions.count == 1 else {
            throw DatasetError(.badDimensions, file: labelsURL.path,
                               "label file has dimensions \(labels.dimensions), expected [count]; is this an images file?")
        }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DatasetError(.sizeMismatch, file: imagesURL.path,
                               "has \(images.dimensions[0]) images but \(labelsURL.lastPathComponent) has \(labels.dimensions[0]) labels; the two files come from different downloads")
        }
        if let bad = labels.bytes.firstIndex(where: { $0 >= 10 }) {
            throw DatasetError(.labelOutOfRange, file: labelsURL.path,
                               "label \(labels.bytes[bad]) at index \(bad) is not below 10; the file is corrupt or from another dataset")
        }
        let pixels = images.bytes.map { Float($0) / 255 }
        return try LabeledImages(info: variant.info, channels: 1,
                                 height: images.dimensions[1], width: images.dimensions[2],
                                 pixels: pixels, labels: labels.bytes.map(Int.init))
    }

    private static func resolveDirectory(_ directory: URL?, variant: Variant) throws -> URL {
        if let directory {
            guard isDirectory(directory) else {
                throw DatasetError(.missingFile, file: directory.path,
                                   "\(variant.rawValue) data directory does not exist; set data_dir in the zoo spec (--data-dir of `victims import`) to a folder containing the IDX files (train-images-idx3-ubyte[.gz], ...)")
            }
            return directory
        }
        guard let fallback = variant.defaultDirectory else {
            throw DatasetError(.missingFile, file: nil,
                               "\(variant.rawValue) has no default location; download its IDX files and set data_dir in the zoo spec (--data-dir of `victims import`) to that folder")
        }
        guard isDirectory(fallback) else {
            throw DatasetError(.missingFile, file: fallback.path,
                               "\(variant.rawValue) is not installed; install it with `apt-get install dataset-fashion-mnist`, or set data_dir in the zoo spec (--data-dir of `victims import`) to a folder with the IDX files")
        }
        return fallback
    }

    private static func locate(_ directory: URL, _ base: String, variant: Variant) throws -> URL {
        let plain = directory.appendingPathComponent(base)
        let gz = directory.appendingPathComponent(base + ".gz")
        for candidate in [plain, gz] where FileManager.default.fileExists(atPath: candidate.path) {
            return candidate
        }
        throw DatasetError(.missingFile, file: directory.path,
                           "\(variant.rawValue) file \(base) (or \(base).gz) is missing from this directory; set data_dir in the zoo spec (--data-dir of `victims import`) to a folder with all four IDX files")
    }

    private static func isDirectory(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }
}
