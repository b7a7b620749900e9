import CPNG
import Foundation

/// An error encoding or decoding a PNG.
public struct PNGError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// File (or `<memory>`) the error is about.
    public let source: String
    /// What is wrong and what to do.
    public let message: String

    /// Creates an error about `source`.
    public init(source: String, _ message: String) {
        self.source = source
        self.message = message
    }

    /// `"<source>: <message>"`.
    public var description: String { "\(source): \(message)" }
    /// Same as `description`.
    public var errorDescription: String? { description }
}

/// An 8-bit image with interleaved channels, encoded and decoded with libpng's simplified
/// API (`png_image`), which handles all PNG color types and needs no `setjmp` error
/// handling, so it is safe to call from Swift.
public struct PNGImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// Row-major, channel-interleaved samples (H, W, C); `count == width * height * channels`.
    public let pixels: [UInt8]

    /// Largest decoded image accepted (256 MiB), so a tiny hostile PNG declaring a huge
    /// canvas cannot make us allocate gigabytes.
    public static let maxDecodedBytes = 1 << 28

    /// Creates an image after checking the buffer size and channel count.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard (1...4).contains(channels), width > 0, height > 0,
              width <= Int(Int32.max) / 4, height <= Int(Int32.max) else {
            throw PNGError(source: "<memory>", "invalid PNG image shape \(width)x\(height) with \(channels) channels; channels must be 1...4 and sizes positive")
        }
        let (n, overflow) = (width * channels).multipliedReportingOverflow(by: height)
        guard !overflow, n == pixels.count else {
            throw PNGError(source: "<memory>", "\(pixels.count) samples do not match \(width)x\(height)x\(channels)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The libpng simplified-API format for a channel count (values from png.h:
    /// GRAY = 0, GA = ALPHA(1), RGB = COLOR(2), RGBA = COLOR|ALPHA(3)).
    private static func format(channels: Int) -> UInt32 {
        switch channels {
        case 1: return 0
        case 2: return 1
        case 3: return 2
        default: return 3
        }
    }

    /// `PNG_IMAGE_VERSION` from png.h (the macro does not import into Swift).
    private static let imageVersion: UInt32 = 1

    /// Encodes as PNG bytes.
    public func encoded() throws -> Data {
        var image = png_image()
        image.version = PNGImage.imageVersion
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = PNGImage.format(channels: channels)
        defer { png_image_free(&image) }
        let stride = Int32(width * channels)
        var size: png_alloc_size_t = 0
        let sized = pixels.withUnsafeBytes { p in
            png_image_write_to_memory(&image, nil, &size, 0, p.baseAddress, stride, nil)
        }
        guard sized != 0, size > 0 else {
            throw PNGError(source: "<memory>", "libpng could not size the PNG: \(PNGImage.message(&image))")
        }
        var out = [UInt8](repeating: 0, count: Int(size))
        let ok = out.withUnsafeMutableBytes { o in
            pixels.withUnsafeBytes { p in
                png_image_write_to_memory(&image, o.baseAddress, &size, 0, p.baseAddress, stride, nil)
            }
        }
        guard ok != 0 else {
            throw PNGError(source: "<memory>", "libpng could not encode the PNG: \(PNGImage.message(&image))")
        }
        return Data(out[0..<Int(size)])
    }

    /// Writes the PNG atomically (see `AtomicFile`).
    public func write(to url: URL) throws {
        try AtomicFile.write(try encoded(), to: url)
    }

    /// Reads a PNG file (any PNG color type; see `init(data:source:)`).
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw PNGError(source: url.path, "cannot read the file (\(error.localizedDescription)); check the path")
        }
        try self.init(data: data, source: url.path)
    }

    /// Decodes PNG bytes to 8-bit samples: gray files give 1 channel, gray+alpha 2, color 3,
    /// color with alpha (or transparency) 4; palettes are expanded and 16-bit is reduced.
    public init(data: Data, source: String) throws {
        var image = png_image()
        image.version = PNGImage.imageVersion
        defer { png_image_free(&image) }
        let begun = data.withUnsafeBytes { p in
            png_image_begin_read_from_memory(&image, p.baseAddress, p.count)
        }
        guard begun != 0 else {
            throw PNGError(source: source, "not a readable PNG: \(PNGImage.message(&image))")
        }
        // Keep color/alpha, drop linear (16-bit) and colormap flags to get plain 8-bit samples.
        image.format &= 3
        let channels = Int(image.format & 2 != 0 ? 3 : 1) + Int(image.format & 1)
        let width = Int(image.width), height = Int(image.height)
        let (total, overflow) = (width * channels).multipliedReportingOverflow(by: height)
        guard !overflow, total > 0, total <= PNGImage.maxDecodedBytes else {
            throw PNGError(source: source, "PNG is \(width)x\(height) with \(channels) channels, more than the \(PNGImage.maxDecodedBytes)-byte limit; refusing to decode")
        }
        var pixels = [UInt8](repeating: 0, count: total)
        let finished = pixels.withUnsafeMutableBytes { o in
            png_image_finish_read(&image, nil, o.baseAddress, Int32(width * channels), nil)
        }
        guard finished != 0 else {
            throw PNGError(source: source, "PNG data is corrupt: \(PNGImage.message(&image)); re-create the file")
        }
        try self.init(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// libpng's error text (a fixed 64-byte C string inside `png_image`).
    private static func message(_ image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return bytes.isEmpty ? "unknown libpng error" : String(decoding: bytes, as: UTF8.self)
        }
    }
}
