/// The EXIF orientation tag (0x0112): how a camera's stored pixels must be turned to stand
/// upright. Read from a JPEG's APP1 segment; anything unreadable counts as `up` (1), the
/// same as a file without the tag.
public struct ExifOrientation: Sendable, Equatable {
    /// 1…8 as in the EXIF standard: 1 upright, 2 mirrored, 3 rotated 180°, 4 flipped,
    /// 5 transposed, 6 needs 90° clockwise, 7 transversed, 8 needs 90° counter-clockwise.
    public let value: Int

    public static let up = ExifOrientation(value: 1)

    public init(value: Int) { self.value = (1...8).contains(value) ? value : 1 }

    /// True for the orientations that exchange width and height (5…8).
    public var swapsSides: Bool { value >= 5 }

    /// Parses an APP1 payload (`Exif\0\0`, a TIFF header, IFD0) for the orientation tag,
    /// checking every offset against the segment's length.
    public init(exifSegment bytes: [UInt8]) {
        let tiff = 6
        guard bytes.count >= tiff + 8, bytes[0..<6].elementsEqual(Array("Exif\0\0".utf8)) else { self = .up; return }
        let little: Bool
        switch (bytes[tiff], bytes[tiff + 1]) {
        case (0x49, 0x49): little = true   // "II"
        case (0x4D, 0x4D): little = false  // "MM"
        default: self = .up; return
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= bytes.count else { return nil }
            let (a, b) = (Int(bytes[at]), Int(bytes[at + 1]))
            return little ? a | b << 8 : a << 8 | b
        }
        func u32(_ at: Int) -> Int? {
            guard let low = u16(little ? at : at + 2), let high = u16(little ? at + 2 : at) else { return nil }
            return low | high << 16
        }
        guard u16(tiff + 2) == 42, let ifd = u32(tiff + 4), let count = u16(tiff + ifd) else { self = .up; return }
        for entry in 0..<count {
            let at = tiff + ifd + 2 + 12 * entry
            guard let tag = u16(at) else { break }
            // Type 3 (SHORT), count 1: the value sits in the entry's first two value bytes.
            if tag == 0x0112, u16(at + 2) == 3, let value = u16(at + 8) {
                self.init(value: value)
                return
            }
        }
        self = .up
    }

    /// Interleaved samples of a `width`×`height` image turned upright (the result is
    /// `height`×`width` when `swapsSides`).
    public func apply(_ pixels: [UInt8], width: Int, height: Int, channels: Int) -> [UInt8] {
        guard value != 1 else { return pixels }
        let (outWidth, outHeight) = swapsSides ? (height, width) : (width, height)
        var out = [UInt8](repeating: 0, count: pixels.count)
        for row in 0..<outHeight {
            for column in 0..<outWidth {
                let (sourceRow, sourceColumn): (Int, Int)
                switch value {
                case 2: (sourceRow, sourceColumn) = (row, width - 1 - column)
                case 3: (sourceRow, sourceColumn) = (height - 1 - row, width - 1 - column)
                case 4: (sourceRow, sourceColumn) = (height - 1 - row, column)
                case 5: (sourceRow, sourceColumn) = (column, row)
                case 6: (sourceRow, sourceColumn) = (height - 1 - column, row)
                case 7: (sourceRow, sourceColumn) = (height - 1 - column, width - 1 - row)
                default: (sourceRow, sourceColumn) = (column, width - 1 - row)  // 8
                }
                let (to, from) = ((row * outWidth + column) * channels, (sourceRow * width + sourceColumn) * channels)
                for c in 0..<channels { out[to + c] = pixels[from + c] }
            }
        }
        return out
    }
}
