import Autodiff
import Formats
import Foundation
import Vocabulary

/// A dataset of the user's own images in torchvision's `ImageFolder` layout: class names are
/// the sorted folder names, one class per folder, and either `root/train/<class>/…` and
/// `root/test/<class>/…`, or `root/<class>/…` split by `ImageOptions.split`.
///
/// The rules (each broken one refused naming the file):
/// - images are `.png`, `.jpg` or `.jpeg` files (the content decides the format): 8-bit PNG
///   (gray, gray + alpha, RGB, RGBA; alpha dropped) or JPEG (gray or RGB, see `JPEGImage`);
///   hidden entries and other files are skipped and counted in `summary`;
/// - an image that does not decode is an error, or with `skipBad` a counted warning;
/// - without `resize`/`centerCrop` every image must have one size; after them they do;
/// - without `channels` the dataset is RGB when any image has colour, gray otherwise.
///
/// Decoding is done once: with a `cache` file, the decoded splits are stored there and read
/// back while every image's path, size and modification time and every option that
/// changes pixels are the same.
public enum ImageFolder {
    /// The dataset name specs use for this layout (with `data_dir` set to the root).
    public static let datasetName = "image-folder"
    /// Largest image file read (64 MiB).
    static let maxFileBytes = 1 << 26

    /// Decoded splits and the line that says what was read and skipped.
    public struct Loaded: Sendable {
        public let splits: DatasetSplits
        /// e.g. "image folder /data: 1200 images in 10 classes (1000 train, 200 test); skipped 3 hidden, 2 non-image (.txt 2)".
        public let summary: String
    }

    public static func load(directory root: URL, options: ImageOptions = ImageOptions(), cache: URL? = nil) throws -> Loaded {
        if let problem = options.problem() { throw DatasetError(.invalidArgument, file: nil, "image options: \(problem)") }
        var scan = ImageFolderScan()
        let classNames: [String]
        let split: (train: [[URL]], test: [[URL]])
        let (trainFolder, testFolder) = (root.appendingPathComponent("train"), root.appendingPathComponent("test"))
        if let fraction = options.split {
            guard !ImageFolderScan.isFolder(trainFolder) else {
                throw DatasetError(.invalidArgument, file: trainFolder.path, "exists, so the folder is already split into train/ and test/; leave out --split (split) or move the class folders up")
            }
            classNames = try checkedClasses(ImageFolderScan.classNames(in: root), in: root)
            try scan.scan(root, classNames: classNames)
            split = try divide(scan.files, fraction: fraction, seed: options.splitSeed ?? 0, classNames: classNames, root: root)
        } else {
            guard ImageFolderScan.isFolder(trainFolder) else {
                throw DatasetError(.missingFile, file: trainFolder.path, "no such folder; an image folder has train/ and test/, each with one folder of images per class, or give --split 0.2 (split) to hold out a fraction of root/<class>/ as the test split")
            }
            classNames = try checkedClasses(ImageFolderScan.classNames(in: trainFolder), in: trainFolder)
            let testNames = try ImageFolderScan.classNames(in: testFolder)
            guard testNames == classNames else {
                throw DatasetError(.invalidArgument, file: testFolder.path, "its class folders (\(testNames.joined(separator: ", "))) differ from train/'s (\(classNames.joined(separator: ", "))); both splits need the same class folders")
            }
            try scan.scan(trainFolder, classNames: classNames)
            try scan.scan(testFolder, classNames: classNames)
            split = (Array(scan.files[..<classNames.count]), Array(scan.files[classNames.count...]))
        }
        let info = DatasetInfo(name: datasetName, classNames: classNames)
        let key = cacheKey(scan: scan, options: options, split: split)
        if let cache, let cached = ImageCache.read(cache, key: key, info: info) { return cached }

        var bad: [String] = []
        func decodeAll(_ perClass: [[URL]]) throws -> [(raster: Raster, label: Int, url: URL)] {
            var out: [(Raster, Int, URL)] = []
            for (label, urls) in perClass.enumerated() {
                for url in urls {
                    do {
                        out.append((try prepared(url, options: options), label, url))
                    } catch let error as DatasetError where options.skipBad == true && error.kind != .sizeMismatch {
                        bad.append(error.description)
                    }
                }
            }
            return out
        }
        let train = try decodeAll(split.train), test = try decodeAll(split.test)
        guard let first = train.first else {
            throw DatasetError(.invalidArgument, file: root.path, "no training image could be read (\(bad.count) skipped as unreadable)")
        }
        let channels = options.channels.map { $0 == "gray" ? 1 : 3 } ?? ((train + test).contains { $0.raster.channels == 3 } ? 3 : 1)
        func assemble(_ list: [(raster: Raster, label: Int, url: URL)]) throws -> LabeledImages {
            var pixels: [Float] = []
            pixels.reserveCapacity(list.count * channels * first.raster.width * first.raster.height)
            for (raster, _, url) in list {
                guard raster.width == first.raster.width, raster.height == first.raster.height else {
                    throw DatasetError(.sizeMismatch, file: url.path, "is \(raster.width)×\(raster.height) (after the image options) but \(first.url.path) is \(first.raster.width)×\(first.raster.height); every image must end up one size: give --resize WxH, or --resize N with --center-crop WxH")
                }
                pixels += planes(raster.converted(toChannels: channels))
            }
            return try LabeledImages(info: info, channels: channels, height: first.raster.height, width: first.raster.width,
                                     pixels: pixels, labels: list.map(\.label))
        }
        let splits = DatasetSplits(train: try assemble(train), test: try assemble(test))
        for (name, images) in [("train", splits.train), ("test", splits.test)] {
            if let empty = images.classCounts().firstIndex(of: 0) {
                throw DatasetError(.invalidArgument, file: root.path, "class '\(classNames[empty])' has no readable image in the \(name) split; add images or remove the class folder")
            }
        }
        let loaded = Loaded(splits: splits, summary: summary(root: root, splits: splits, scan: scan, bad: bad))
        if let cache { try ImageCache.write(loaded, to: cache, key: key) }
        return loaded
    }

    private static func checkedClasses(_ names: [String], in folder: URL) throws -> [String] {
        guard names.count >= 2 else {
            throw DatasetError(.invalidArgument, file: folder.path, "found \(names.count) class folder(s) (\(names.joined(separator: ", "))); an image folder needs one folder per class, at least two")
        }
        return names
    }

    /// Each class's files shuffled with the seed, `fraction` of them (rounded, at least one)
    /// to the test split, the rest to training, each part back in file order.
    private static func divide(_ perClass: [[URL]], fraction: Double, seed: UInt64, classNames: [String], root: URL) throws -> (train: [[URL]], test: [[URL]]) {
        var rng = SeededGenerator(seed: seed)
        var train: [[URL]] = [], test: [[URL]] = []
        for (label, files) in perClass.enumerated() {
            guard files.count >= 2 else {
                throw DatasetError(.invalidArgument, file: root.appendingPathComponent(classNames[label]).path, "has \(files.count) image; splitting needs at least two per class")
            }
            let held = min(files.count - 1, max(1, Int((fraction * Double(files.count)).rounded())))
            let order = Array(0..<files.count).shuffled(using: &rng)
            let testIndices = Set(order.prefix(held))
            test.append(files.indices.filter { testIndices.contains($0) }.map { files[$0] })
            train.append(files.indices.filter { !testIndices.contains($0) }.map { files[$0] })
        }
        return (train, test)
    }

    /// One file decoded and brought to the options' channels and size.
    static func prepared(_ url: URL, options: ImageOptions) throws -> Raster {
        var raster = try decode(url)
        if let channels = options.channels { raster = raster.converted(toChannels: channels == "gray" ? 1 : 3) }
        switch options.resize.flatMap(ImageOptions.resizeTarget) {
        case let .exact(width, height)?: raster = raster.resized(width: width, height: height)
        case let .shorterSide(side)?:
            let size = raster.shorterSideSize(side)
            raster = raster.resized(width: size.width, height: size.height)
        case nil: break
        }
        if let crop = options.centerCrop.flatMap(ImageOptions.size) {
            raster = raster.centerCropped(width: crop.width, height: crop.height)
        }
        return raster
    }

    /// A PNG or JPEG file (by content) as 1 or 3 channels; every failure names the file.
    static func decode(_ url: URL) throws -> Raster {
        let data = try readFileBounded(url, limit: maxFileBytes, what: "image")
        func refuse(_ reason: String) -> DatasetError {
            DatasetError(.invalidArgument, file: url.path, "cannot be read as an image: \(reason); replace or remove it, or pass --skip-bad to leave unreadable images out")
        }
        guard !data.isEmpty else { throw refuse("the file is empty (0 bytes)") }
        do {
            if data.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
                // IHDR's bit depth (byte 24): libpng would quietly reduce 16 bits with its own gamma rules.
                if data.count > 24, data[data.startIndex + 24] == 16 {
                    throw refuse("it is a 16-bit PNG; only 8-bit PNGs are read (convert it, e.g. `convert in.png -depth 8 out.png`)")
                }
                let png = try PNGImage(data: data, source: url.path)
                let channels = png.channels >= 3 ? 3 : 1
                let plane = png.width * png.height
                var pixels = [UInt8](repeating: 0, count: plane * channels)
                for i in 0..<plane { for c in 0..<channels { pixels[i * channels + c] = png.pixels[i * png.channels + c] } }
                return Raster(width: png.width, height: png.height, channels: channels, pixels: pixels)
            }
            if JPEGImage.hasSignature(data) {
                let jpeg = try JPEGImage(data: data, source: url.path)
                return Raster(width: jpeg.width, height: jpeg.height, channels: jpeg.channels, pixels: jpeg.pixels)
            }
        } catch let error as PNGError {
            throw refuse(error.message)
        } catch let error as JPEGError {
            throw refuse(error.message)
        }
        throw refuse("it is neither a PNG nor a JPEG (the name says .\(url.pathExtension))")
    }

    /// An interleaved image as channel planes of values in [0, 1].
    private static func planes(_ raster: Raster) -> [Float] {
        let plane = raster.width * raster.height
        var out = [Float](repeating: 0, count: raster.channels * plane)
        for c in 0..<raster.channels {
            for i in 0..<plane { out[c * plane + i] = Float(raster.pixels[i * raster.channels + c]) / 255 }
        }
        return out
    }

    private static func summary(root: URL, splits: DatasetSplits, scan: ImageFolderScan, bad: [String]) -> String {
        var line = "image folder \(root.path): \(splits.train.count + splits.test.count) images in \(splits.train.info.numClasses) classes (\(splits.train.count) train, \(splits.test.count) test), \(splits.train.channels)×\(splits.train.height)×\(splits.train.width)"
        let others = scan.nonImages.values.reduce(0, +)
        let kinds = scan.nonImages.sorted { $0.key < $1.key }.map { "\($0.key.isEmpty ? "no extension" : "." + $0.key) \($0.value)" }
        line += "; skipped \(scan.hidden) hidden, \(others) non-image\(kinds.isEmpty ? "" : " (\(kinds.joined(separator: ", ")))")"
        if !bad.isEmpty {
            line += "\nwarning: left out \(bad.count) unreadable image(s) (--skip-bad): " + bad.prefix(5).joined(separator: "; ") + (bad.count > 5 ? "; …" : "")
        }
        return line
    }

    /// Everything that decides the decoded pixels: the files (path, size, time), what was
    /// skipped, the split and the options that change pixels (not the normalization).
    private static func cacheKey(scan: ImageFolderScan, options: ImageOptions, split: (train: [[URL]], test: [[URL]])) -> String {
        var pixelOptions = options
        (pixelOptions.mean, pixelOptions.std) = (nil, nil)
        let optionText = (try? CanonicalJSON.string(pixelOptions)) ?? ""
        let parts = [ImageCache.format, optionText, "hidden \(scan.hidden)", "\(scan.nonImages.sorted { $0.key < $1.key })"]
            + scan.fingerprint
            + ["train"] + split.train.flatMap { $0.map(\.path) + ["/"] }
            + ["test"] + split.test.flatMap { $0.map(\.path) + ["/"] }
        return SHA256.hex(Data(parts.joined(separator: "\n").utf8))
    }
}
