import Datasets
import Foundation
import Testing
import TestSupport

/// Every hostile image an image folder can hold: each refused with an error that names the
/// file and says what is wrong, never a crash, a hang or a huge allocation.
@Suite("Hostile images in an image folder")
struct HostileImageTests {
    /// A valid two-class folder of PNGs, then `plant` puts the hostile entry at the path it returns.
    private func refusal(_ plant: (URL) throws -> String) throws -> (DatasetError?, String) {
        var result: (DatasetError?, String) = (nil, "")
        try withTempDir { root in
            for split in ["train", "test"] {
                for name in ["a", "b"] { try put(pngBytes([1, 2, 3, 4], width: 2, height: 2, channels: 1), root, "\(split)/\(name)/ok.png") }
            }
            let path = try plant(root)
            let error = #expect(throws: DatasetError.self) { try ImageFolder.load(directory: root) }
            result = (error, root.appendingPathComponent(path).path)
        }
        return result
    }

    private func check(_ name: String, _ phrase: String, _ plant: (URL) throws -> String) throws {
        let (error, file) = try refusal(plant)
        #expect(error?.file == file, "\(name): \(error?.description ?? "no error")")
        #expect(error?.message.contains(phrase) == true, "\(name): \(error?.description ?? "no error")")
    }

    private static let rgb = gradient(width: 32, height: 32, channels: 3)

    @Test("a truncated JPEG")
    func truncated() throws {
        try check("truncated", "not a readable JPEG") { root in
            let full = try jpegBytes(Self.rgb, width: 32, height: 32, channels: 3)
            try put(full.prefix(full.count * 2 / 3), root, "train/a/cut.jpg")
            return "train/a/cut.jpg"
        }
        try check("header only", "not a readable JPEG") { root in
            try put(try jpegBytes(Self.rgb, width: 32, height: 32, channels: 3).prefix(200), root, "test/b/cut.jpeg")
            return "test/b/cut.jpeg"
        }
    }

    @Test("a header declaring a huge image: refused before any allocation")
    func hugeHeaders() throws {
        try check("100000×100000 PNG", "limit") { root in
            try put(handMadePNG(width: 100_000, height: 100_000, bitDepth: 8, rows: [0, 0]), root, "train/a/huge.png")
            return "train/a/huge.png"
        }
        try check("65000×65000 JPEG", "limit") { root in
            var bytes = [UInt8](try jpegBytes(Self.rgb, width: 32, height: 32, channels: 3))
            // SOF0: FF C0, length (2), precision (1), height (2), width (2).
            let sof = try #require((0..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
            bytes.replaceSubrange((sof + 5)..<(sof + 9), with: [0xFD, 0xE8, 0xFD, 0xE8])
            try put(Data(bytes), root, "train/a/huge.jpg")
            return "train/a/huge.jpg"
        }
    }

    @Test("a CMYK JPEG")
    func cmyk() throws {
        try check("CMYK", "CMYK") { root in
            try put(try jpegBytes(gradient(width: 16, height: 16, channels: 4), width: 16, height: 16, channels: 4), root, "train/b/ink.jpg")
            return "train/b/ink.jpg"
        }
    }

    @Test("a 16-bit PNG")
    func sixteenBit() throws {
        try check("16-bit", "16-bit PNG") { root in
            try put(handMadePNG(width: 2, height: 2, bitDepth: 16, rows: [0, 1, 2, 3, 4, 0, 5, 6, 7, 8]), root, "train/a/deep.png")
            return "train/a/deep.png"
        }
    }

    @Test("a zero-byte file and a file that is no image at all")
    func emptyAndForeign() throws {
        try check("empty", "empty (0 bytes)") { root in
            try put(Data(), root, "train/a/empty.jpg")
            return "train/a/empty.jpg"
        }
        try check("text named .png", "neither a PNG nor a JPEG") { root in
            try put(Data("hello".utf8), root, "train/a/text.png")
            return "train/a/text.png"
        }
    }

    @Test("symbolic link loops: a folder linking to its parent, and a link to itself")
    func symlinkLoops() throws {
        try check("folder loop", "symbolic link loop") { root in
            try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("train/a/up").path, withDestinationPath: "..")
            return "train/a/up/a"
        }
        try check("self link", "symbolic link loop") { root in
            try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("train/b/self.jpg").path, withDestinationPath: "self.jpg")
            return "train/b/self.jpg"
        }
    }
}
