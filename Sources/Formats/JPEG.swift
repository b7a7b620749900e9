import CJPEGDecoder
import Foundation

/// An error decoding a JPEG, naming the file and what to do.
public struct JPEGError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Not a JPEG, or truncated or corrupt data.
        case corrupt
        /// The header declares an image larger than `JPEGImage.maxDecodedBytes`.
        case tooLarge
        /// CMYK, YCCK or another colour space that is neither gray nor RGB.
        case unsupportedColor
    }

    public let kind: Kind
    /// File (or `<memory>`) the error is about.
    public let source: String
    public let message: String

    public init(_ kind: Kind, source: String, _ message: String) {
        (self.kind, self.source, self.message) = (kind, source, message)
    }

    public var description: String { "\(source): \(message)" }
    public var errorDescription: String? { description }
}

/// An 8-bit JPEG decoded by libjpeg-turbo (baseline or progressive), upright: the EXIF
/// orientation, when the file has one, is applied as Pillow's `ImageOps.exif_transpose` does.
///
/// Colour rule: grayscale files give 1 channel, YCbCr and RGB files 3 (RGB); CMYK and YCCK
/// files are refused, because their inks need a colour profile to become RGB and files
/// disagree on whether they are stored inverted (Adobe) or not.
/// Any libjpeg warning refuses the file too: libjpeg decodes a truncated file with its
/// missing rows gray, and a guessed image is worse than an error.
public struct JPEGImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// 1 (gray) or 3 (RGB).
    public let channels: Int
    /// Row-major, channel-interleaved samples (H, W, C).
    public let pixels: [UInt8]
    /// The EXIF orientation that was applied (1 when the file has none).
    public let orientation: ExifOrientation

    /// Largest decoded image accepted (256 MiB, as for PNG), checked from the header before
    /// any sample is allocated.
    public static let maxDecodedBytes = 1 << 28
    /// Most scans a progressive file may have: a crafted file with thousands of tiny scans
    /// makes libjpeg work for minutes on a few kilobytes.
    public static let maxScans: Int32 = 500

    /// True when `data` starts with a JPEG's start-of-image marker.
    public static func hasSignature(_ data: Data) -> Bool {
        data.count >= 3 && data.prefix(3).elementsEqual([0xFF, 0xD8, 0xFF])
    }

    /// Decodes JPEG bytes; `source` names the file in errors.
    public init(data: Data, source: String) throws {
        var image = amnesia_jpeg_image()
        defer { amnesia_jpeg_free(&image) }
        let status = data.withUnsafeBytes { raw in
            amnesia_jpeg_decode(raw.bindMemory(to: UInt8.self).baseAddress, raw.count,
                                JPEGImage.maxDecodedBytes, JPEGImage.maxScans, &image)
        }
        let message = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        switch Int(status) {
        case Int(AMNESIA_JPEG_OK.rawValue):
            break
        case Int(AMNESIA_JPEG_TOO_LARGE.rawValue):
            throw JPEGError(.tooLarge, source: source, "the JPEG header declares \(message), more than the \(JPEGImage.maxDecodedBytes)-byte limit; refusing to decode (shrink the image)")
        case Int(AMNESIA_JPEG_UNSUPPORTED_COLOR.rawValue):
            let name = image.color_space == 4 ? "CMYK" : image.color_space == 5 ? "YCCK" : "\(message)"
            throw JPEGError(.unsupportedColor, source: source, "is a \(name) JPEG; only grayscale and RGB (YCbCr) JPEGs are read: convert it to RGB first (e.g. `convert in.jpg -colorspace sRGB out.jpg`)")
        case Int(AMNESIA_JPEG_NO_MEMORY.rawValue):
            throw JPEGError(.tooLarge, source: source, "cannot allocate \(image.width)x\(image.height)x\(image.channels) samples")
        default:
            throw JPEGError(.corrupt, source: source, "not a readable JPEG: \(message.isEmpty ? "unknown libjpeg error" : message) (truncated or corrupt; re-create the file)")
        }
        let (width, height, channels) = (Int(image.width), Int(image.height), Int(image.channels))
        let pixels = Array(UnsafeBufferPointer(start: image.pixels, count: width * height * channels))
        let exif = image.exif.map { Array(UnsafeBufferPointer(start: $0, count: image.exif_size)) } ?? []
        let orientation = ExifOrientation(exifSegment: exif)
        (self.width, self.height) = orientation.swapsSides ? (height, width) : (width, height)
        self.channels = channels
        self.pixels = orientation.apply(pixels, width: width, height: height, channels: channels)
        self.orientation = orientation
    }
}
