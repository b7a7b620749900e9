import Datasets
import Foundation
import Testing
import TestSupport
import Vocabulary

@Suite struct LabeledImagesTests {
    let info = DatasetInfo(name: "t", classNames: ["a", "b", "c"])

    @Test func validatesAndSubsets() throws {
        let images = try LabeledImages(info: info, channels: 1, height: 1, width: 2,
                                       pixels: [0, 0.1, 1, 1.1, 2, 2.1, 3, 3.1], labels: [2, 0, 2, 1])
        #expect(images.indicesByClass() == [[1], [3], [0, 2]])
        #expect(images.classCounts() == [1, 1, 2])
        let sub = try images.subset([3, 0, 0])
        #expect(sub.labels == [1, 2, 2])
        #expect(sub.pixels == [3, 3.1, 0, 0.1, 0, 0.1])
        #expect(throws: DatasetError.self) { try images.subset([4]) }
        let badLabel = #expect(throws: DatasetError.self) {
            try LabeledImages(info: info, channels: 1, height: 1, width: 1, pixels: [0], labels: [3])
        }
        #expect(badLabel?.kind == .labelOutOfRange)
        let badSize = #expect(throws: DatasetError.self) {
            try LabeledImages(info: info, channels: 1, height: 1, width: 2, pixels: [0], labels: [0])
        }
        #expect(badSize?.kind == .sizeMismatch)
    }

    @Test func normalizationFitsAppliesAndInverts() throws {
        var rng = SplitMix64(seed: 1)
        let data = try Synthetic.make(classes: 2, perClass: 10, channels: 3, height: 6, width: 5, noise: 0.2, using: &rng)
        let norm = Normalization.fit(data)
        #expect(norm.channels == 3)
        var normalized = data
        try normalized.normalize(norm)
        let z = normalized.pixels
        #expect(try norm.apply(to: data.pixels, channels: 3, planeSize: 30) == z)
        #expect(data.pixels != z, "normalizing a copy leaves the original as it was")
        let plane = 30
        for c in 0..<3 {
            var values = [Float]()
            for n in 0..<data.count { values += z[((n * 3 + c) * plane)..<((n * 3 + c + 1) * plane)] }
            let mean = values.reduce(0, +) / Float(values.count)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)
            #expect(abs(mean) < 1e-4)
            #expect(abs(variance - 1) < 1e-3)
        }
        let back = try norm.invert(z, channels: 3, planeSize: plane)
        #expect(zip(back, data.pixels).allSatisfy { abs($0 - $1) < 1e-5 })
        let decoded = try JSONDecoder().decode(Normalization.self, from: JSONEncoder().encode(norm))
        #expect(decoded == norm)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Normalization.self, from: Data(#"{"mean":[0.5,0.5],"std":[1]}"#.utf8))
        }
        var unchanged = data
        let mismatch = #expect(throws: DatasetError.self) { try unchanged.normalize(Normalization(mean: [0], std: [1])) }
        #expect(mismatch?.kind == .sizeMismatch)
        // A constant channel does not divide by zero.
        #expect(Normalization(mean: [0.5], std: [0]).std == [Normalization.minimumStd])
    }

    @Test func syntheticIsDeterministicBoundedAndBalanced() throws {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42), c = SplitMix64(seed: 43)
        let x = try Synthetic.make(classes: 4, perClass: 5, channels: 1, height: 8, width: 8, noise: 0.3, using: &a)
        let y = try Synthetic.make(classes: 4, perClass: 5, channels: 1, height: 8, width: 8, noise: 0.3, using: &b)
        let z = try Synthetic.make(classes: 4, perClass: 5, channels: 1, height: 8, width: 8, noise: 0.3, using: &c)
        #expect(x == y)
        #expect(x.pixels != z.pixels)
        #expect(x.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(x.classCounts() == [5, 5, 5, 5])
        #expect(Array(x.labels.prefix(5)) == [0, 1, 2, 3, 0])
        #expect(throws: DatasetError.self) {
            try Synthetic.make(classes: 0, perClass: 1, channels: 1, height: 1, width: 1, noise: 0, using: &a)
        }
    }

    /// Learnability: class means from the first half classify the second half almost perfectly
    /// (a linear, i.e. "tiny network", decision rule).
    @Test(arguments: [1, 3])
    func syntheticIsLearnable(channels: Int) throws {
        var rng = SplitMix64(seed: 2024)
        let classes = 10
        let data = try Synthetic.make(classes: classes, perClass: 40, channels: channels, height: 12, width: 12,
                                      noise: 0.3, using: &rng)
        let half = data.count / 2
        let size = data.imageSize
        var means = [[Float]](repeating: [Float](repeating: 0, count: size), count: classes)
        for i in 0..<half {
            for (j, v) in data.image(at: i).enumerated() { means[data.labels[i]][j] += v / Float(half / classes) }
        }
        var correct = 0
        for i in half..<data.count {
            let x = Array(data.image(at: i))
            let distances = means.map { m in zip(m, x).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
            if distances.firstIndex(of: distances.min() ?? 0) == data.labels[i] { correct += 1 }
        }
        #expect(Double(correct) / Double(data.count - half) > 0.95)
    }
}
