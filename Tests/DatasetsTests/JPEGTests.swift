import Formats
import Foundation
import Testing

@Suite("JPEG decoding through libjpeg-turbo")
struct JPEGTests {
    @Test("baseline and progressive RGB decode to the same image, close to what was encoded")
    func baselineAndProgressive() throws {
        let pixels = gradient(width: 24, height: 16, channels: 3)
        let baseline = try JPEGImage(data: jpegBytes(pixels, width: 24, height: 16, channels: 3), source: "baseline")
        let progressive = try JPEGImage(data: jpegBytes(pixels, width: 24, height: 16, channels: 3, progressive: true), source: "progressive")
        #expect(baseline.width == 24 && baseline.height == 16 && baseline.channels == 3)
        #expect(progressive.width == 24 && progressive.height == 16 && progressive.channels == 3)
        let worst = zip(baseline.pixels, pixels).map { abs(Int($0) - Int($1)) }.max() ?? 255
        #expect(worst <= 12, "largest error \(worst) at quality 95")
        let apart = zip(baseline.pixels, progressive.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 255
        #expect(apart <= 2, "baseline and progressive differ by \(apart)")
    }

    @Test("a grayscale JPEG gives one channel")
    func gray() throws {
        let image = try JPEGImage(data: jpegBytes(gradient(width: 8, height: 8, channels: 1), width: 8, height: 8, channels: 1), source: "gray")
        #expect(image.channels == 1 && image.pixels.count == 64)
    }

    @Test("EXIF orientation 6 turns the image 90° clockwise: the left half becomes the top")
    func orientation() throws {
        // 32×16: dark left half, bright right half.
        let pixels = (0..<(32 * 16)).map { UInt8($0 % 32 < 16 ? 10 : 240) }
        let image = try JPEGImage(data: jpegBytes(pixels, width: 32, height: 16, channels: 1, exif: exifOrientation(6)), source: "rotated")
        #expect(image.orientation.value == 6)
        #expect(image.width == 16 && image.height == 32)
        #expect(image.pixels[2 * 16 + 8] < 60 && image.pixels[29 * 16 + 8] > 200)
        // Orientation 3 (180°): the dark half moves right.
        let flipped = try JPEGImage(data: jpegBytes(pixels, width: 32, height: 16, channels: 1, exif: exifOrientation(3)), source: "flipped")
        #expect(flipped.width == 32 && flipped.pixels[8 * 32 + 2] > 200 && flipped.pixels[8 * 32 + 29] < 60)
    }

    @Test("every orientation maps a pixel where Pillow's exif_transpose puts it")
    func orientationTable() {
        // 3×2 image, one channel: values 0 1 2 / 3 4 5.
        let pixels: [UInt8] = [0, 1, 2, 3, 4, 5]
        let expected: [Int: [UInt8]] = [
            1: [0, 1, 2, 3, 4, 5], 2: [2, 1, 0, 5, 4, 3], 3: [5, 4, 3, 2, 1, 0], 4: [3, 4, 5, 0, 1, 2],
            5: [0, 3, 1, 4, 2, 5], 6: [3, 0, 4, 1, 5, 2], 7: [5, 2, 4, 1, 3, 0], 8: [2, 5, 1, 4, 0, 3],
        ]
        for (value, out) in expected {
            #expect(ExifOrientation(value: value).apply(pixels, width: 3, height: 2, channels: 1) == out, "orientation \(value)")
        }
    }

    @Test("an EXIF segment that lies about its offsets reads as upright, never out of bounds")
    func brokenExif() {
        var exif = exifOrientation(6)
        exif[13] = 200  // IFD offset past the end
        #expect(ExifOrientation(exifSegment: exif) == .up)
        #expect(ExifOrientation(exifSegment: Array(exifOrientation(6).prefix(20))) == .up)
    }
}
