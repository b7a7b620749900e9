import Autodiff
import Distillation
import Formats
import Foundation
import Poisoning
import TestSupport
import Testing

@Suite("Poison sets exported as PNG files and CSV labels")
struct PoisonExportTests {
    /// Two steps of two RGB 2×3 images with soft labels over three classes.
    func sample() -> PoisonSet {
        var rng = SeededGenerator(seed: 6)
        let soft = Tensor(shape: [4, 3], scalars: [0.7, 0.2, 0.1, 0, 1, 0, 0.25, 0.25, 0.5, 0.1, 0.1, 0.8])
        return PoisonSet(images: .randomNormal([4, 3, 2, 3], using: &rng), labels: [0, 1, 2, 2], softLabels: soft,
                         stepSizes: [0.1, 0.2], steps: 2, epochs: 1,
                         metadata: .init(dataset: "image-folder", classNames: ["a", "b", "c"], mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3],
                                         forget: 0, target: 1, architecture: "onnx", seed: 4, objective: "forget"))
    }

    @Test("each PNG holds its image in pixel space (clipped, 8-bit), the CSV its step, label and soft labels")
    func roundTrip() throws {
        try withTempDir { root in
            let poison = sample()
            let out = root.appendingPathComponent("export")
            try poison.exportFolder(to: out)
            let rows = try String(contentsOf: out.appendingPathComponent("labels.csv"), encoding: .utf8)
                .split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
            #expect(rows[0] == ["file", "step", "label", "p0", "p1", "p2"])
            #expect(rows.count == 5)
            for i in 0..<4 {
                let row = rows[i + 1]
                #expect(row[1] == String(i / 2) && row[2] == String(poison.labels[i]))
                #expect(row[3...].compactMap(Float.init) == Array(poison.softLabels!.scalars[(i * 3)..<(i * 3 + 3)]))
                let png = try PNGImage(contentsOf: out.appendingPathComponent(row[0]))
                #expect(png.width == 3 && png.height == 2 && png.channels == 3)
                for c in 0..<3 {
                    for p in 0..<6 {
                        let normalized = poison.images.scalars[(i * 3 + c) * 6 + p]
                        let pixel = min(max(normalized * poison.metadata.std[c] + poison.metadata.mean[c], 0), 1)
                        #expect(abs(Float(png.pixels[p * 3 + c]) / 255 - pixel) <= 0.5 / 255 + 1e-6)
                    }
                }
            }
            let info = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("poison.json"))) as? [String: Any]
            #expect(info?["K"] as? Int == 0 && info?["T"] as? Int == 1 && (info?["step_sizes"] as? [Double])?.count == 2)
            // A folder with files in it is never written into.
            #expect(throws: PoisonError.self) { try poison.exportFolder(to: out) }
        }
    }
}
