import Formats
import Foundation
import Testing
import TestSupport

@Suite struct PNGTests {
    @Test(arguments: [1, 3, 4])
    func roundTrip(channels: Int) throws {
        let (w, h) = (5, 3)
        let pixels = (0..<(w * h * channels)).map { UInt8(truncatingIfNeeded: $0 * 17 + 3) }
        let image = try PNGImage(width: w, height: h, channels: channels, pixels: pixels)
        let encoded = try image.encoded()
        #expect(encoded.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
        try withTempDir { dir in
            let url = dir.appendingPathComponent("img/\(channels).png")
            try image.write(to: url)
            let back = try PNGImage(contentsOf: url)
            #expect(back.channels == channels)
            #expect(back == image)
        }
    }

    @Test func corruptAndInvalidInputsThrow() throws {
        let notPNG = #expect(throws: PNGError.self) { try PNGImage(data: Data("hello".utf8), source: "x.png") }
        #expect(notPNG?.description.contains("x.png") == true)
        let encoded = try PNGImage(width: 8, height: 8, channels: 1, pixels: [UInt8](repeating: 9, count: 64)).encoded()
        #expect(throws: PNGError.self) { try PNGImage(data: encoded.prefix(encoded.count - 20), source: "cut.png") }
        #expect(throws: PNGError.self) { try PNGImage(width: 2, height: 2, channels: 3, pixels: [1, 2, 3]) }
        #expect(throws: PNGError.self) { try PNGImage(width: 2, height: 2, channels: 5, pixels: [UInt8](repeating: 0, count: 20)) }
    }

    @Test func gridDimensionsAndContent() throws {
        // 5 gray 4x3 images in 2 rows x 3 columns, border 1, scale 2.
        let pixels = (0..<5).flatMap { i in [Float](repeating: Float(i) / 4, count: 12) }
        let options = ImageGrid.Options(border: 1, scale: 2, borderGray: 100)
        let grid = try ImageGrid.render(pixels: pixels, count: 5, channels: 1, height: 4, width: 3,
                                        rows: 2, columns: 3, options: options)
        #expect(grid.width == 1 + 3 * (6 + 1))
        #expect(grid.height == 1 + 2 * (8 + 1))
        #expect(grid.channels == 1)
        func at(_ x: Int, _ y: Int) -> UInt8 { grid.pixels[y * grid.width + x] }
        #expect(at(0, 0) == 100)
        #expect(at(1, 1) == 0)          // image 0 is black
        #expect(at(1 + 7, 1) == 64)     // image 1 = 0.25
        #expect(at(1 + 7, 1 + 9) == 255) // image 4 (row 1, col 1) = 1.0
        #expect(at(1 + 14, 1 + 9) == 100) // empty sixth cell
        // RGB stays RGB, 2 channels become gray.
        let rgb = try ImageGrid.render(pixels: [Float](repeating: 0.5, count: 3 * 4), count: 1, channels: 3, height: 2,
                                       width: 2, rows: 1, columns: 1)
        #expect(rgb.channels == 3 && rgb.width == 4 && rgb.height == 4)
        let two = try ImageGrid.render(pixels: [0, 0, 0, 0, 1, 1, 1, 1], count: 1, channels: 2, height: 2, width: 2,
                                       rows: 1, columns: 1, options: ImageGrid.Options(border: 0))
        #expect(two.channels == 1 && two.pixels == [128, 128, 128, 128])
        #expect(throws: FormatError.self) {
            try ImageGrid.render(pixels: pixels, count: 5, channels: 1, height: 4, width: 3, rows: 2, columns: 2)
        }
    }

    @Test func gridWithRowLabels() throws {
        var rng = SplitMix64(seed: 7)
        let pixels = (0..<(6 * 3 * 10 * 10)).map { _ in Float.random(in: 0...1, using: &rng) }
        let grid = try ImageGrid.render(pixels: pixels, count: 6, channels: 3, height: 10, width: 10, rows: 3, columns: 2,
                                        rowLabels: [0, 1, 2], options: ImageGrid.Options(border: 1, scale: 2))
        #expect(grid.channels == 3)
        #expect(grid.height == 1 + 3 * (20 + 1))
        let labelWidth = 1 * 4 * 2 + 2  // one digit, glyph scale 20/10 = 2
        #expect(grid.width == 1 + labelWidth + 2 * (20 + 1))
        // Some label pixels are drawn in the label color.
        #expect(grid.pixels.contains(255))
        try withTempDir { dir in
            let url = dir.appendingPathComponent("grid.png")
            try grid.write(to: url)
            #expect(try PNGImage(contentsOf: url) == grid)
        }
    }
}
