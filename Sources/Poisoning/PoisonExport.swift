import Datasets
import Formats
import Foundation
import Vocabulary

/// A poison set as any framework reads it: one 8-bit PNG per image in pixel space,
/// `labels.csv` (file, step, label and, with learned soft labels, one probability column
/// per class) and `poison.json` (normalization, K, T, classes, steps, epochs, step sizes).
/// What a victim that trains on files sees; the 8-bit probe of every report measures
/// how much of the poison survives the rounding and clipping to [0, 1].
extension PoisonSet {
    /// What `poison.json` holds.
    struct ExportedInfo: Codable {
        let dataset: String
        let classNames: [String]
        let mean: [Float]
        let std: [Float]
        let forget: Int
        let target: Int
        let steps: Int
        let epochs: Int
        /// Step size of step s in epoch e at index e·steps + s.
        let stepSizes: [Float]

        enum CodingKeys: String, CodingKey {
            case dataset, classNames = "class_names", mean, std, forget = "K", target = "T", steps, epochs, stepSizes = "step_sizes"
        }
    }

    /// Writes the folder into `directory` (created; it must be empty if it exists).
    public func exportFolder(to directory: URL) throws {
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        guard existing.isEmpty else {
            throw PoisonError("\(directory.path) is not empty; export the poison into a new folder")
        }
        try OutputFolder.prepare(directory, option: nil)
        let (channels, height, width) = (imageShape[0], imageShape[1], imageShape[2])
        let plane = height * width
        let pixels = try Normalization(mean: metadata.mean, std: metadata.std)
            .invert(images.scalars, channels: channels, planeSize: plane)
        let classes = softLabels?.shape[1] ?? 0
        var csv = "file,step,label" + (0..<classes).map { ",p\($0)" }.joined() + "\n"
        let soft = softLabels?.scalars
        for i in 0..<labels.count {
            let file = String(format: "%05d.png", i)
            let image = pixels[(i * channels * plane)..<((i + 1) * channels * plane)]
            // Planes to interleaved samples.
            let samples = (0..<(plane * channels)).map { k in pixelByte(image[image.startIndex + (k % channels) * plane + k / channels]) }
            try PNGImage(width: width, height: height, channels: channels, pixels: samples)
                .write(to: directory.appendingPathComponent(file))
            csv += "\(file),\(i / imagesPerStep),\(labels[i])"
            if let soft { csv += (0..<classes).map { ",\(soft[i * classes + $0])" }.joined() }
            csv += "\n"
        }
        try AtomicFile.write(Data(csv.utf8), to: directory.appendingPathComponent("labels.csv"))
        let info = ExportedInfo(dataset: metadata.dataset, classNames: metadata.classNames, mean: metadata.mean, std: metadata.std,
                                forget: metadata.forget, target: metadata.target, steps: steps, epochs: epochs, stepSizes: stepSizes)
        try AtomicFile.write(CanonicalJSON.encode(info, pretty: true), to: directory.appendingPathComponent("poison.json"))
    }
}
