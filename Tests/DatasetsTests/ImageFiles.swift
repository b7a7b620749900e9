import CJPEGTestEncoder
import CZlib
import Formats
import Foundation

struct JPEGEncodeFailed: Error {}

/// A JPEG of interleaved samples (1 gray, 3 RGB, 4 CMYK), written by libjpeg-turbo.
func jpegBytes(_ pixels: [UInt8], width: Int, height: Int, channels: Int, progressive: Bool = false,
               exif: [UInt8]? = nil, quality: Int32 = 95) throws -> Data {
    var size = 0
    let bytes: UnsafeMutablePointer<UInt8>? = pixels.withUnsafeBufferPointer { p in
        if let exif {
            return exif.withUnsafeBufferPointer { e in
                amnesia_test_jpeg_encode(p.baseAddress, Int32(width), Int32(height), Int32(channels), quality, progressive ? 1 : 0, e.baseAddress, e.count, &size)
            }
        }
        return amnesia_test_jpeg_encode(p.baseAddress, Int32(width), Int32(height), Int32(channels), quality, progressive ? 1 : 0, nil, 0, &size)
    }
    guard let bytes else { throw JPEGEncodeFailed() }
    defer { free(bytes) }
    return Data(bytes: bytes, count: size)
}

/// An APP1 payload holding only the EXIF orientation tag (big-endian TIFF).
func exifOrientation(_ value: UInt8) -> [UInt8] {
    Array("Exif\0\0".utf8) + [0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 1,
                              0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, value, 0, 0, 0, 0, 0, 0]
}

/// Smooth test content: a gradient per channel, so JPEG keeps it close.
func gradient(width: Int, height: Int, channels: Int) -> [UInt8] {
    (0..<(width * height * channels)).map { i in
        let (p, c) = (i / channels, i % channels)
        return UInt8(p % width * 200 / max(1, width - 1) + c * 5 + p / width * 30 / max(1, height - 1))
    }
}

/// A PNG made chunk by chunk, for headers libpng's writer would not produce (16-bit
/// samples, a declared size far beyond the data). `rows` is the raw scanline data
/// (a filter byte per row), compressed as given.
func handMadePNG(width: UInt32, height: UInt32, bitDepth: UInt8, colorType: UInt8 = 0, rows: [UInt8]) -> Data {
    func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        let crc = typed.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        return be32(UInt32(body.count)) + typed + be32(crc)
    }
    var compressedSize = compressBound(uLong(rows.count))
    var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
    _ = compress(&compressed, &compressedSize, rows, uLong(rows.count))
    let header = be32(width) + be32(height) + [bitDepth, colorType, 0, 0, 0]
    return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header)
                + chunk("IDAT", Array(compressed.prefix(Int(compressedSize)))) + chunk("IEND", []))
}

/// Writes `data` to `root/<path>`, creating folders.
func put(_ data: Data, _ root: URL, _ path: String) throws {
    let url = root.appendingPathComponent(path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try data.write(to: url)
}

/// An 8-bit PNG of `channels` channels from interleaved samples.
func pngBytes(_ pixels: [UInt8], width: Int, height: Int, channels: Int) throws -> Data {
    try PNGImage(width: width, height: height, channels: channels, pixels: pixels).encoded()
}
