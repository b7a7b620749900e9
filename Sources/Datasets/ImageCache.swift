import Formats
import Foundation
import Vocabulary

/// The decoded splits of an image folder as one safetensors file (8-bit samples, N×C×H×W,
/// and labels), valid while its `key` matches: a later run reads it instead of decoding.
enum ImageCache {
    /// Changes when the decoding or the file layout changes, so an old cache is not read.
    static let format = "amnesia.image-cache/1"

    /// The cached splits, or nil when the file is missing, unreadable or for another key.
    static func read(_ url: URL, key: String, info: DatasetInfo) -> ImageFolder.Loaded? {
        guard FileManager.default.fileExists(atPath: url.path),
              let file = try? SafeTensors(contentsOf: url), file.metadata["key"] == key,
              let summary = file.metadata["summary"] else { return nil }
        func split(_ name: String) -> LabeledImages? {
            guard let pixels = try? file.tensor("\(name)_pixels"), let labels = try? file.tensor("\(name)_labels"),
                  pixels.dtype == .U8, pixels.shape.count == 4, labels.dtype == .I64, labels.shape == [pixels.shape[0]] else { return nil }
            let values = stride(from: 0, to: labels.bytes.count, by: 8).map { at in
                (0..<8).reduce(0) { $0 | Int(labels.bytes[at + $1]) << (8 * $1) }
            }
            return try? LabeledImages(info: info, channels: pixels.shape[1], height: pixels.shape[2], width: pixels.shape[3],
                                      pixels: pixels.bytes.map { Float($0) / 255 }, labels: values)
        }
        guard let train = split("train"), let test = split("test") else { return nil }
        return ImageFolder.Loaded(splits: DatasetSplits(train: train, test: test), summary: summary + " (decoded images from \(url.path))")
    }

    /// Writes the splits (pixels are multiples of 1/255, so 8 bits hold them exactly).
    static func write(_ loaded: ImageFolder.Loaded, to url: URL, key: String) throws {
        var file = SafeTensors(metadata: ["key": key, "summary": loaded.summary, "format": format], source: url.path)
        for (name, images) in [("train", loaded.splits.train), ("test", loaded.splits.test)] {
            try file.add(name: "\(name)_pixels", dtype: .U8, shape: [images.count, images.channels, images.height, images.width],
                         bytes: images.pixels.map { UInt8(($0 * 255).rounded()) })
            try file.add(name: "\(name)_labels", dtype: .I64, shape: [images.count],
                         bytes: images.labels.flatMap { label in (0..<8).map { UInt8(truncatingIfNeeded: label >> (8 * $0)) } })
        }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try file.write(to: url)
    }
}
