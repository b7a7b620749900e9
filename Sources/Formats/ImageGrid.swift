import Foundation

/// Tiles many small float images into one PNG, for eyeballing datasets and crafted
/// poisons in reports (e.g. one row per class).
///
/// Channel handling: 1 channel is drawn as gray, 3 as RGB; any other count is drawn as the
/// gray mean of its channels (so 2- or 4-channel tensors still show their structure).
public enum ImageGrid {
    /// Layout and value mapping.
    public struct Options: Sendable, Equatable {
        /// Gap between cells and around the grid, in output pixels.
        public var border: Int
        /// Each source pixel becomes a `scale`×`scale` block (nearest neighbour).
        public var scale: Int
        /// Value drawn as black (values below are clamped).
        public var minValue: Float
        /// Value drawn as white (values above are clamped).
        public var maxValue: Float
        /// Gray level of borders, empty cells and the label column.
        public var borderGray: UInt8
        /// Gray level of the row-label digits.
        public var labelGray: UInt8

        /// Defaults: 1-pixel mid-gray border, no upscaling, values in [0, 1] (raw pixels, or
        /// normalized ones after `Normalization.invert`).
        public init(border: Int = 1, scale: Int = 1, minValue: Float = 0, maxValue: Float = 1,
                    borderGray: UInt8 = 128, labelGray: UInt8 = 255) {
            self.border = border
            self.scale = scale
            self.minValue = minValue
            self.maxValue = maxValue
            self.borderGray = borderGray
            self.labelGray = labelGray
        }
    }

    /// Renders `count` images (N,C,H,W floats) into `rows` × `columns` cells, filled row by
    /// row; unused cells are left in the border color. When `rowLabels` is given (one
    /// non-negative number per row, e.g. the class index) it is drawn left of each row with
    /// a built-in 3×5 digit font.
    ///
    /// - Throws: `FormatError(.invalidArgument)` if sizes disagree or options are invalid.
    public static func render(pixels: [Float], count: Int, channels: Int, height: Int, width: Int,
                              rows: Int, columns: Int, rowLabels: [Int]? = nil,
                              options: Options = Options()) throws -> PNGImage {
        guard count >= 0, channels > 0, height > 0, width > 0, rows > 0, columns > 0,
              count <= rows * columns, pixels.count == count * channels * height * width else {
            throw FormatError(.invalidArgument, file: nil,
                               "ImageGrid: cannot place \(count) images of \(channels)x\(height)x\(width) (\(pixels.count) values) into \(rows)x\(columns) cells; check count, shape and grid size")
        }
        return try draw(pixels: pixels, placements: (0..<count).map { (cell: $0, image: $0) },
                        channels: channels, height: height, width: width,
                        rows: rows, columns: columns, rowLabels: rowLabels, options: options)
    }

    private static func draw(pixels: [Float], placements: [(cell: Int, image: Int)],
                             channels: Int, height: Int, width: Int, rows: Int, columns: Int,
                             rowLabels: [Int]?, options: Options) throws -> PNGImage {
        guard options.border >= 0, options.scale > 0, options.maxValue > options.minValue,
              options.minValue.isFinite, options.maxValue.isFinite,
              rowLabels.map({ $0.count == rows && $0.allSatisfy { $0 >= 0 } }) ?? true else {
            throw FormatError(.invalidArgument, file: nil,
                               "ImageGrid: invalid options (border \(options.border) >= 0, scale \(options.scale) > 0, finite range \(options.minValue) < \(options.maxValue)) or row labels (\(rowLabels?.count ?? 0) non-negative labels for \(rows) rows)")
        }
        let outChannels = channels == 3 ? 3 : 1
        let cellH = height * options.scale, cellW = width * options.scale
        let b = options.border

        // Label column: digits about half the cell height, at least one pixel per font dot.
        var labelWidth = 0
        var glyphScale = 1
        if let rowLabels {
            glyphScale = max(1, cellH / 10)
            let maxDigits = rowLabels.map { String($0).count }.max() ?? 1
            labelWidth = maxDigits * 4 * glyphScale + glyphScale
        }
        let outW = b + labelWidth + columns * (cellW + b)
        let outH = b + rows * (cellH + b)
        let (area, o1) = outW.multipliedReportingOverflow(by: outH)
        guard !o1, area <= PNGImage.maxDecodedBytes / outChannels else {
            throw FormatError(.invalidArgument, file: nil,
                               "ImageGrid: a \(outW)x\(outH) grid is too large; use a smaller scale or fewer images")
        }
        var out = [UInt8](repeating: options.borderGray, count: outW * outH * outChannels)
        let range = options.maxValue - options.minValue
        let plane = height * width
        let imageSize = channels * plane
        var sample = [UInt8](repeating: 0, count: outChannels)

        for (cell, image) in placements {
            let top = b + (cell / columns) * (cellH + b)
            let left = b + labelWidth + (cell % columns) * (cellW + b)
            let base = image * imageSize
            for y in 0..<height {
                for x in 0..<width {
                    let p = base + y * width + x
                    if channels == 1 || channels == 3 {
                        for c in 0..<channels {
                            sample[c] = pixelByte((pixels[p + c * plane] - options.minValue) / range)
                        }
                    } else {
                        var sum: Float = 0
                        for c in 0..<channels { sum += pixels[p + c * plane] }
                        sample[0] = pixelByte((sum / Float(channels) - options.minValue) / range)
                    }
                    for dy in 0..<options.scale {
                        let row = (top + y * options.scale + dy) * outW
                        for dx in 0..<options.scale {
                            let o = (row + left + x * options.scale + dx) * outChannels
                            for c in 0..<outChannels { out[o + c] = sample[c] }
                        }
                    }
                }
            }
        }

        if let rowLabels {
            for (row, label) in rowLabels.enumerated() {
                let top = b + row * (cellH + b) + max(0, (cellH - 5 * glyphScale) / 2)
                for (i, ch) in String(label).enumerated() {
                    guard let digit = ch.wholeNumberValue else { continue }
                    drawDigit(digit, into: &out, width: outW, height: outH, channels: outChannels,
                              left: b + i * 4 * glyphScale, top: top, scale: glyphScale, gray: options.labelGray)
                }
            }
        }
        return try PNGImage(width: outW, height: outH, channels: outChannels, pixels: out)
    }

    /// 3×5 bitmaps for 0-9, one row per UInt8 (3 low bits, MSB = left column).
    private static let font: [[UInt8]] = [
        [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
        [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 2, 2, 2], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
    ]

    private static func drawDigit(_ digit: Int, into out: inout [UInt8], width: Int, height: Int, channels: Int,
                                  left: Int, top: Int, scale: Int, gray: UInt8) {
        for (r, bits) in font[digit].enumerated() {
            for c in 0..<3 where bits & (4 >> c) != 0 {
                for dy in 0..<scale {
                    for dx in 0..<scale {
                        let y = top + r * scale + dy, x = left + c * scale + dx
                        guard y >= 0, y < height, x >= 0, x < width else { continue }
                        for k in 0..<channels { out[(y * width + x) * channels + k] = gray }
                    }
                }
            }
        }
    }
}

/// Maps a [0,1] float to a byte, clamping and treating NaN as 0.
@inline(__always)
public func pixelByte(_ v: Float) -> UInt8 {
    if v.isNaN { return 0 }
    let c = Swift.min(Swift.max(v, 0), 1)
    return UInt8((c * 255).rounded())
}
