import Formats
import Foundation

/// A ten-class image folder of 28×28 gray PNGs (three training and two test images per
/// class, each class a bright square in its own place on noise), as a user would bring.
public func makeImageFolder(_ root: URL) throws -> URL {
    var rng = SplitMix64(seed: 5)
    for c in 0..<10 {
        for (split, count) in [("train", 3), ("test", 2)] {
            let folder = root.appendingPathComponent(split).appendingPathComponent("class-\(c)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for i in 0..<count {
                var pixels = (0..<784).map { _ in UInt8.random(in: 0...60, using: &rng) }
                for y in 0..<8 { for x in 0..<8 { pixels[(2 + (c / 4) * 8 + y) * 28 + 2 + (c % 4) * 6 + x] = 230 } }
                try PNGImage(width: 28, height: 28, channels: 1, pixels: pixels).write(to: folder.appendingPathComponent("\(i).png"))
            }
        }
    }
    return root
}
