import Datasets
import Formats
import Foundation
import Testing
import TestSupport

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

@Suite("Image folders: one folder of PNGs per class")
struct ImageFolderTests {
    @Test("classes are the sorted folder names; pixels and labels follow them")
    func loads() throws {
        try withTempDir { root in
            try makeFolder(root)
            let splits = try ImageFolder.load(directory: root)
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
            let splits = try ImageFolder.load(directory: root)
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
            }, "same size"),
            ("a file that is not a PNG", { root in
                let url = root.appendingPathComponent("train/boot/notes.txt")
                try Data("hello".utf8).write(to: url)
                return url.path
            }, "PNG images only"),
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
