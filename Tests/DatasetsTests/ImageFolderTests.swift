import Datasets
import Formats
import Foundation
import Testing
import TestSupport
import Vocabulary

/// Writes `root/<split>/<class>/<file>` as a `width`×`height` PNG of `channels` channels
/// whose samples are all `value`.
private func writePNG(_ root: URL, _ split: String, _ className: String, _ file: String,
                      width: Int = 4, height: Int = 3, channels: Int = 1, value: UInt8 = 0) throws {
    let folder = root.appendingPathComponent(split).appendingPathComponent(className)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try PNGImage(width: width, height: height, channels: channels,
                 pixels: [UInt8](repeating: value, count: width * height * channels))
        .write(to: folder.appendingPathComponent(file))
}

/// Two classes, two training and one test image each, gray values by class.
private func makeFolder(_ root: URL) throws {
    for (c, name) in ["sneaker", "boot"].enumerated() {
        try writePNG(root, "train", name, "a.png", value: UInt8(50 + 100 * c))
        try writePNG(root, "train", name, "b.png", value: UInt8(60 + 100 * c))
        try writePNG(root, "test", name, "c.png", value: UInt8(55 + 100 * c))
    }
}

@Suite("Image folders: one folder of images per class")
struct ImageFolderTests {
    @Test("classes are the sorted folder names; pixels and labels follow them")
    func loads() throws {
        try withTempDir { root in
            try makeFolder(root)
            let splits = try ImageFolder.load(directory: root).splits
            #expect(splits.train.info.classNames == ["boot", "sneaker"])
            #expect(splits.train.labels == [0, 0, 1, 1] && splits.test.labels == [0, 1])
            #expect(splits.train.channels == 1 && splits.train.height == 3 && splits.train.width == 4)
            #expect(splits.train.image(at: 0).allSatisfy { $0 == Float(150) / 255 })   // boot/a.png
            #expect(splits.test.image(at: 1).allSatisfy { $0 == Float(55) / 255 })     // sneaker/c.png
            // As a named dataset: normalized with statistics of the training split.
            let data = try PreparedData.load(dataset: "image-folder", directory: root.path)
            #expect(data.inputShape == [1, 3, 4] && data.info.numClasses == 2)
            #expect(abs(data.normalization.mean[0] - Float(50 + 60 + 150 + 160) / 4 / 255) < 1e-6)
        }
    }

    @Test("one RGB image makes the dataset RGB; gray images fill all three channels")
    func mixedColor() throws {
        try withTempDir { root in
            try makeFolder(root)
            try writePNG(root, "train", "boot", "rgb.png", channels: 3, value: 200)
            let splits = try ImageFolder.load(directory: root).splits
            #expect(splits.train.channels == 3 && splits.test.channels == 3)
            #expect(splits.test.image(at: 0).allSatisfy { $0 == Float(155) / 255 })
        }
    }

    /// Each broken layout, the file its error must name and a phrase of its rule.
    @Test("bad layouts are refused naming the file and the rule")
    func badLayouts() throws {
        let cases: [(String, (URL) throws -> String, String)] = [
            ("no test split", { root in
                try FileManager.default.removeItem(at: root.appendingPathComponent("test"))
                return root.appendingPathComponent("test").path
            }, "train/ and test/"),
            ("one class", { root in
                for split in ["train", "test"] { try FileManager.default.removeItem(at: root.appendingPathComponent(split).appendingPathComponent("boot")) }
                return root.appendingPathComponent("train").path
            }, "at least two"),
            ("an empty class", { root in
                let folder = root.appendingPathComponent("test").appendingPathComponent("boot")
                try FileManager.default.removeItem(at: folder)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                return folder.path
            }, "no images"),
            ("a different size", { root in
                try writePNG(root, "test", "boot", "big.png", width: 5)
                return root.appendingPathComponent("test/boot/big.png").path
            }, "one size"),
            ("an unreadable PNG", { root in
                let url = root.appendingPathComponent("train/sneaker/broken.png")
                try Data("not a png".utf8).write(to: url)
                return url.path
            }, "cannot be read"),
            ("classes that differ between splits", { root in
                try writePNG(root, "test", "sandal", "d.png")
                return root.appendingPathComponent("test").path
            }, "same class folders"),
        ]
        for (name, breakFolder, rule) in cases {
            try withTempDir { root in
                try makeFolder(root)
                let file = try breakFolder(root)
                let error = #expect(throws: DatasetError.self, "\(name)") { try ImageFolder.load(directory: root) }
                #expect(error?.file == file, "\(name): \(error?.description ?? "")")
                #expect(error?.message.contains(rule) == true, "\(name): \(error?.description ?? "")")
            }
        }
    }
}

@Suite("Image folders: JPEG, sizes, channels, splits, cache")
struct ImageFolderOptionsTests {
    /// Two classes in train/ and test/: a JPEG (RGB, 40×30) and a gray PNG (20×20) each.
    private func mixedFolder(_ root: URL) throws {
        for (c, name) in ["cat", "dog"].enumerated() {
            for split in ["train", "test"] {
                try put(jpegBytes(gradient(width: 40, height: 30, channels: 3), width: 40, height: 30, channels: 3, progressive: c == 1),
                        root, "\(split)/\(name)/a.jpg")
                try put(pngBytes([UInt8](repeating: UInt8(60 * c + 30), count: 400), width: 20, height: 20, channels: 1),
                        root, "\(split)/\(name)/b.PNG")
            }
        }
    }

    @Test("JPEGs and PNGs of mixed sizes and channels load after --resize as one RGB shape")
    func mixed() throws {
        try withTempDir { root in
            try mixedFolder(root)
            #expect(throws: DatasetError.self) { try ImageFolder.load(directory: root) }
            var options = ImageOptions()
            options.resize = "8x6"
            let loaded = try ImageFolder.load(directory: root, options: options)
            #expect(loaded.splits.train.channels == 3 && loaded.splits.train.width == 8 && loaded.splits.train.height == 6)
            #expect(loaded.splits.train.labels == [0, 0, 1, 1])
            // The gray PNG fills all three channels with its (constant) value.
            #expect(loaded.splits.train.image(at: 3).allSatisfy { $0 == Float(90) / 255 })
            options.channels = "gray"
            #expect(try ImageFolder.load(directory: root, options: options).splits.test.channels == 1)
        }
    }

    @Test("--resize gives Pillow's bilinear resampling (reference values from Pillow 13)")
    func resizeMatchesPillow() throws {
        try withTempDir { root in
            let source = (0..<35).map { UInt8($0 * 7) }   // 7×5
            for split in ["train", "test"] {
                for name in ["a", "b"] { try put(pngBytes(source, width: 7, height: 5, channels: 1), root, "\(split)/\(name)/x.png") }
            }
            var options = ImageOptions()
            options.resize = "3x4"
            let shrunk = try ImageFolder.load(directory: root, options: options).splits.train.image(at: 0).map { Int(($0 * 255).rounded()) }
            #expect(shrunk == [18, 33, 48, 75, 90, 105, 133, 148, 163, 190, 205, 220])
            options.resize = "11x9"
            let grown = try ImageFolder.load(directory: root, options: options).splits.train.image(at: 0).map { Int(($0 * 255).rounded()) }
            #expect(grown.prefix(11) == [0, 3, 8, 12, 17, 21, 25, 30, 34, 39, 42])
            #expect(grown.suffix(11) == [196, 199, 204, 208, 213, 217, 221, 226, 230, 235, 238])
        }
    }

    @Test("--channels gray uses Pillow's luma; --resize N with --center-crop gives the crop's size")
    func grayAndCrop() throws {
        try withTempDir { root in
            for split in ["train", "test"] {
                for name in ["a", "b"] {
                    try put(pngBytes([UInt8](repeating: 0, count: 10 * 6 * 3).enumerated().map { i, _ in [10, 200, 30][i % 3] },
                                     width: 10, height: 6, channels: 3), root, "\(split)/\(name)/x.png")
                }
            }
            var options = ImageOptions()
            options.channels = "gray"
            let gray = try ImageFolder.load(directory: root, options: options).splits.train
            #expect(gray.channels == 1 && gray.image(at: 0).allSatisfy { $0 == Float(124) / 255 })
            options.resize = "3"          // 10×6 → 5×3
            options.centerCrop = "3x3"
            let cropped = try ImageFolder.load(directory: root, options: options).splits.train
            #expect(cropped.width == 3 && cropped.height == 3)
            options.centerCrop = "5x5"    // larger than 5×3: black rows above and below
            let padded = try ImageFolder.load(directory: root, options: options).splits.train
            #expect(padded.image(at: 0).prefix(5).allSatisfy { $0 == 0 } && padded.image(at: 0)[5] == Float(124) / 255)
        }
    }

    @Test("--split holds out a seeded fraction of each class; hidden and other files are counted")
    func split() throws {
        try withTempDir { root in
            for name in ["a", "b"] {
                for i in 0..<5 { try put(pngBytes([UInt8(i * 40)], width: 1, height: 1, channels: 1), root, "\(name)/\(i).png") }
            }
            try put(Data("x".utf8), root, "a/.DS_Store")
            try put(Data("x".utf8), root, "a/notes.txt")
            try put(Data("x".utf8), root, "b/README")
            var options = ImageOptions()
            options.split = 0.4
            options.splitSeed = 7
            let first = try ImageFolder.load(directory: root, options: options)
            #expect(first.splits.train.count == 6 && first.splits.test.count == 4)
            #expect(first.splits.test.classCounts() == [2, 2])
            #expect(first.summary.contains("skipped 1 hidden, 2 non-image (no extension 1, .txt 1)"), "\(first.summary)")
            #expect(try ImageFolder.load(directory: root, options: options).splits == first.splits)
            options.splitSeed = 8
            let other = try ImageFolder.load(directory: root, options: options).splits
            #expect(other.test.count == 4 && other.test.pixels != first.splits.test.pixels)
            try FileManager.default.createDirectory(at: root.appendingPathComponent("train"), withIntermediateDirectories: true)
            let error = #expect(throws: DatasetError.self) { try ImageFolder.load(directory: root, options: options) }
            #expect(error?.message.contains("already split") == true)
        }
    }

    @Test("a corrupt image stops the load naming it; --skip-bad leaves it out with a counted warning")
    func skipBad() throws {
        try withTempDir { root in
            try mixedFolder(root)
            let good = try jpegBytes(gradient(width: 40, height: 30, channels: 3), width: 40, height: 30, channels: 3)
            try put(good.prefix(good.count / 2), root, "train/dog/broken.jpg")
            var options = ImageOptions()
            options.resize = "8x6"
            let error = #expect(throws: DatasetError.self) { try ImageFolder.load(directory: root, options: options) }
            #expect(error?.file == root.appendingPathComponent("train/dog/broken.jpg").path)
            options.skipBad = true
            let loaded = try ImageFolder.load(directory: root, options: options)
            #expect(loaded.splits.train.count == 4)
            #expect(loaded.summary.contains("left out 1 unreadable image(s) (--skip-bad)") && loaded.summary.contains("broken.jpg"))
        }
    }

    @Test("decoded images are cached; a changed file or option decodes again")
    func cache() throws {
        try withTempDir { root in
            try mixedFolder(root.appendingPathComponent("images"))
            let (folder, cache) = (root.appendingPathComponent("images"), root.appendingPathComponent("zoo/image-cache.safetensors"))
            var options = ImageOptions()
            options.resize = "8x6"
            let fresh = try ImageFolder.load(directory: folder, options: options, cache: cache)
            #expect(!fresh.summary.contains("decoded images from") && FileManager.default.fileExists(atPath: cache.path))
            let cached = try ImageFolder.load(directory: folder, options: options, cache: cache)
            #expect(cached.summary.contains("decoded images from") && cached.splits == fresh.splits)
            // The same file rewritten with other pixels (and size): decoded again.
            try put(pngBytes([UInt8](repeating: 200, count: 441), width: 21, height: 21, channels: 1), folder, "train/cat/b.PNG")
            let changed = try ImageFolder.load(directory: folder, options: options, cache: cache)
            #expect(!changed.summary.contains("decoded images from") && changed.splits.train.image(at: 1).allSatisfy { $0 == Float(200) / 255 })
            options.resize = "4x4"
            let resized = try ImageFolder.load(directory: folder, options: options, cache: cache)
            #expect(!resized.summary.contains("decoded images from") && resized.splits.train.width == 4)
        }
    }

    @Test("given mean and std replace the fitted normalization; bad options are refused naming the option")
    func normalizationAndOptions() throws {
        try withTempDir { root in
            try mixedFolder(root)
            var options = ImageOptions()
            (options.resize, options.mean, options.std) = ("8x6", [0.5, 0.4, 0.3], [0.2, 0.2, 0.2])
            let data = try PreparedData.load(dataset: "image-folder", directory: root.path, images: options)
            #expect(data.normalization == Normalization(mean: [0.5, 0.4, 0.3], std: [0.2, 0.2, 0.2]))
            #expect(data.summary?.contains("8 images in 2 classes") == true)
            for (change, phrase) in [({ (o: inout ImageOptions) in o.resize = "32by32" }, "resize"),
                                     ({ (o: inout ImageOptions) in o.centerCrop = "0x5" }, "center_crop"),
                                     ({ (o: inout ImageOptions) in o.channels = "cmyk" }, "channels"),
                                     ({ (o: inout ImageOptions) in o.std = [0.2, 0, 0.2] }, "std"),
                                     ({ (o: inout ImageOptions) in o.split = 1.5 }, "split")] {
                var bad = options
                change(&bad)
                #expect(bad.problem()?.contains(phrase) == true, "\(phrase): \(bad.problem() ?? "accepted")")
            }
            #expect(throws: DatasetError.self) { try PreparedData.load(dataset: "synthetic", images: options) }
        }
    }
}
