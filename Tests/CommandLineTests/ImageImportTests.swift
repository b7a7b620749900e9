import Formats
import Foundation
import Testing
import TestSupport

/// `victims import` of a colour ONNX model on an image folder: the image options are
/// recorded in the zoo, the decoded images cached in its folder, and the exporter's
/// accuracy (the model's metadata_props) printed beside Amnesia's, with a warning when they
/// differ by more than 0.002.
@Suite("Importing a colour model on an image folder")
struct ImageImportTests {
    /// `experiments/images/train_colour.py`'s small ResNet (3×32×32, 10 classes), its test accuracy
    /// on the Fashion-MNIST JPEG folder in metadata_props.
    static let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../ONNXTests/Fixtures/colour-resnet.onnx").standardized

    /// Ten classes, one 36×30 RGB PNG per class and split, coloured by class.
    private func imageFolder(_ root: URL) throws {
        for split in ["train", "test"] {
            for c in 0..<10 {
                let folder = root.appendingPathComponent("\(split)/class\(c)")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let pixels = (0..<(36 * 30 * 3)).map { UInt8(($0 % 3 * 80 + c * 17 + $0 / 108) % 256) }
                try PNGImage(width: 36, height: 30, channels: 3, pixels: pixels).write(to: folder.appendingPathComponent("x.png"))
            }
        }
    }

    @Test("Amnesia's accuracy beside the exporter's; a warning only when they differ")
    func exporterCheck() throws {
        try withTempDir { dir in
            try imageFolder(dir.appendingPathComponent("images"))
            let arguments = ["victims", "import", "--dataset", "image-folder", "--data-dir", "images", "--resize", "32x32",
                             "--channels", "rgb", "--victims-dir", "v", Self.model.path]
            let first = try amnesia(arguments + ["--zoo", "mine"], in: dir)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(first.stderr.contains("20 images in 10 classes (10 train, 10 test), 3×32×32"), "\(first.stderr)")
            #expect(first.stdout.contains("(exporter: 0."), "\(first.stdout)")
            #expect(first.stderr.contains("differs from the exporter's"), "random images cannot reach the exporter's accuracy: \(first.stderr)")
            let manifest = try String(contentsOf: dir.appendingPathComponent("v/mine/manifest.json"), encoding: .utf8)
            #expect(manifest.contains("\"resize\"") && manifest.contains("32x32") && manifest.contains("\"rgb\""))
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("v/mine/image-cache.safetensors").path))

            // The accuracy Amnesia measured, given as the exporter's: no warning.
            let measured = try #require(first.stdout.firstMatch(of: /test accuracy (0\.[0-9]+)/)?.1)
            let second = try amnesia(arguments + ["--zoo", "again", "--expected-accuracy", String(measured)], in: dir)
            #expect(second.status == 0 && !second.stderr.contains("differs from the exporter's"), "\(second.stderr)")
        }
    }
}
