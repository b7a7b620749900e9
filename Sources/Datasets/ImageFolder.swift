import Formats
import Foundation

/// A dataset of the user's own images in torchvision's `ImageFolder` layout, one folder per
/// class in each split: `root/train/<class>/*.png` and `root/test/<class>/*.png`.
///
/// The rules, each refused with the file and the rule when broken:
/// - class names are the training split's folder names, sorted; the test split has the
///   same folders; at least two classes, each with at least one image in each split;
/// - every file that is not hidden (a leading dot) is a PNG (8-bit; gray, gray + alpha,
///   RGB or RGBA); anything else is refused, not skipped, so no image is lost silently;
/// - every image has the size of the first training image: images are not resized;
/// - the dataset is grayscale when every image is, RGB otherwise (gray images then get
///   their value in all three channels); alpha is dropped.
public enum ImageFolder {
    /// The dataset name specs use for this layout (with `data_dir` set to the root).
    public static let datasetName = "image-folder"
    /// Largest PNG file read (64 MiB).
    static let maxFileBytes = 1 << 26

    public static func load(directory root: URL) throws -> DatasetSplits {
        let (train, test) = (root.appendingPathComponent("train"), root.appendingPathComponent("test"))
        let classNames = try classFolders(train)
        guard classNames.count >= 2 else {
            throw DatasetError(.invalidArgument, file: train.path, "found \(classNames.count) class folder(s) (\(classNames.joined(separator: ", "))); an image folder needs one folder per class, at least two (root/train/<class>/*.png)")
        }
        let testNames = try classFolders(test)
        guard testNames == classNames else {
            throw DatasetError(.invalidArgument, file: test.path, "its class folders (\(testNames.joined(separator: ", "))) differ from train/'s (\(classNames.joined(separator: ", "))); both splits need the same class folders")
        }
        let info = DatasetInfo(name: datasetName, classNames: classNames)
        let trainImages = try images(in: train, classNames: classNames)
        let testImages = try images(in: test, classNames: classNames)
        let first = trainImages[0].image
        let color = (trainImages + testImages).contains { $0.image.channels >= 3 }
        func split(_ list: [(url: URL, label: Int, image: PNGImage)]) throws -> LabeledImages {
            var pixels: [Float] = []
            let channels = color ? 3 : 1
            pixels.reserveCapacity(list.count * channels * first.width * first.height)
            for (url, _, image) in list {
                guard image.width == first.width, image.height == first.height else {
                    throw DatasetError(.sizeMismatch, file: url.path, "is \(image.width)×\(image.height) but \(trainImages[0].url.path) is \(first.width)×\(first.height); every image must have the same size (Amnesia does not resize): resize them beforehand")
                }
                pixels += planes(image, channels: channels)
            }
            return try LabeledImages(info: info, channels: channels, height: first.height, width: first.width,
                                     pixels: pixels, labels: list.map(\.label))
        }
        return DatasetSplits(train: try split(trainImages), test: try split(testImages))
    }

    /// The class folders of one split, sorted by name.
    private static func classFolders(_ split: URL) throws -> [String] {
        guard isFolder(split) else {
            throw DatasetError(.missingFile, file: split.path, "no such folder; an image folder has train/ and test/, each with one folder of PNG images per class")
        }
        let entries = try contents(split)
        if let file = entries.first(where: { !isFolder($0) }) {
            throw DatasetError(.invalidArgument, file: file.path, "is a file directly in \(split.lastPathComponent)/; images go into one folder per class (\(split.lastPathComponent)/<class>/image.png)")
        }
        return entries.map(\.lastPathComponent).sorted()
    }

    /// Every image of every class of one split, class by class, files sorted by name.
    private static func images(in split: URL, classNames: [String]) throws -> [(url: URL, label: Int, image: PNGImage)] {
        try classNames.enumerated().flatMap { label, name in
            let folder = split.appendingPathComponent(name)
            let files = try contents(folder).sorted { $0.lastPathComponent < $1.lastPathComponent }
            guard !files.isEmpty else {
                throw DatasetError(.invalidArgument, file: folder.path, "class '\(name)' has no images in \(split.lastPathComponent)/; every class needs at least one PNG in each split")
            }
            return try files.map { url in
                guard !isFolder(url), url.pathExtension.lowercased() == "png" else {
                    throw DatasetError(.invalidArgument, file: url.path, "is not a .png file; a class folder holds PNG images only (convert or remove it)")
                }
                let data = try readFileBounded(url, limit: maxFileBytes, what: "PNG image")
                do {
                    return (url, label, try PNGImage(data: data, source: url.path))
                } catch {
                    throw DatasetError(.invalidArgument, file: url.path, "cannot be read as a PNG image (\(error)); replace or remove it")
                }
            }
        }
    }

    private static func isFolder(_ url: URL) -> Bool {
        var folder: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &folder) && folder.boolValue
    }

    /// A folder's entries, hidden ones left out.
    private static func contents(_ folder: URL) throws -> [URL] {
        do {
            return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
                .filter { !$0.lastPathComponent.hasPrefix(".") }
        } catch {
            throw DatasetError(.io, file: folder.path, "cannot list this folder (\(error.localizedDescription))")
        }
    }

    /// An interleaved 8-bit image as `channels` planes of values in [0, 1].
    private static func planes(_ image: PNGImage, channels: Int) -> [Float] {
        let plane = image.width * image.height
        var out = [Float](repeating: 0, count: channels * plane)
        let colorSource = image.channels >= 3
        for c in 0..<channels {
            let sourceChannel = colorSource ? c : 0
            for i in 0..<plane { out[c * plane + i] = Float(image.pixels[i * image.channels + sourceChannel]) / 255 }
        }
        return out
    }
}
