import Datasets
import Foundation
import Testing
import TestSupport

@Suite struct MNISTTests {
    /// Writes a tiny MNIST-layout directory: train as gzip, test as plain files.
    func writeTinySet(_ dir: URL, trainLabels: [UInt8], testLabels: [UInt8], trainImages: Int? = nil) throws {
        let h = 4, w = 3
        let n = trainImages ?? trainLabels.count
        let trainPixels = (0..<(n * h * w)).map { UInt8(truncatingIfNeeded: $0 * 5) }
        try writeGzip(IDX.encode(try IDXArray(dimensions: [n, h, w], bytes: trainPixels)),
                      to: dir.appendingPathComponent("train-images-idx3-ubyte.gz"))
        try writeGzip(IDX.encode(try IDXArray(dimensions: [trainLabels.count], bytes: trainLabels)),
                      to: dir.appendingPathComponent("train-labels-idx1-ubyte.gz"))
        try IDX.write(try IDXArray(dimensions: [testLabels.count, h, w], bytes: [UInt8](repeating: 255, count: testLabels.count * h * w)),
                      to: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
        try IDX.write(try IDXArray(dimensions: [testLabels.count], bytes: testLabels),
                      to: dir.appendingPathComponent("t10k-labels-idx1-ubyte"))
    }

    @Test func loadsTinyDirectoryPlainAndGzip() throws {
        try withTempDir { dir in
            try writeTinySet(dir, trainLabels: [0, 9, 3, 3], testLabels: [1, 2])
            let splits = try MNISTFamily.load(directory: dir, name: "kmnist")
            #expect(splits.train.count == 4)
            #expect(splits.train.channels == 1 && splits.train.height == 4 && splits.train.width == 3)
            #expect(splits.train.labels == [0, 9, 3, 3])
            #expect(splits.train.pixels[1] == Float(5) / 255)
            #expect(splits.test.pixels.allSatisfy { $0 == 1 })
            #expect(splits.train.info.classNames[3] == "tsu")
            #expect(splits.test.indicesByClass()[2] == [1])
        }
    }

    @Test func rejectsMismatchedCountsAndBadLabels() throws {
        try withTempDir { dir in
            try writeTinySet(dir, trainLabels: [0, 1, 2], testLabels: [1], trainImages: 4)
            let mismatch = #expect(throws: DatasetError.self) { try MNISTFamily.load(directory: dir, variant: .mnist) }
            #expect(mismatch?.kind == .sizeMismatch)
            #expect(mismatch?.message.contains("4 images") == true)
        }
        try withTempDir { dir in
            try writeTinySet(dir, trainLabels: [0, 10], testLabels: [1])
            let bad = #expect(throws: DatasetError.self) { try MNISTFamily.load(directory: dir, variant: .mnist) }
            #expect(bad?.kind == .labelOutOfRange)
            #expect(bad?.file?.hasSuffix("train-labels-idx1-ubyte.gz") == true)
        }
    }

    @Test func missingFilesAndUnknownNamesExplainWhatToDo() throws {
        try withTempDir { dir in
            let missing = #expect(throws: DatasetError.self) { try MNISTFamily.load(directory: dir, name: "fashion-mnist") }
            #expect(missing?.kind == .missingFile)
            #expect(missing?.message.contains("train-images-idx3-ubyte") == true)
            let noDir = #expect(throws: DatasetError.self) {
                try MNISTFamily.load(directory: dir.appendingPathComponent("nope"), name: "mnist")
            }
            #expect(noDir?.message.contains("--data-dir") == true)
        }
        let unknown = #expect(throws: DatasetError.self) { try MNISTFamily.load(name: "imagenet") }
        #expect(unknown?.kind == .invalidArgument)
        #expect(unknown?.message.contains("fashion-mnist") == true)
        #expect(MNISTFamily.Variant.fashionMNIST.classNames.count == 10)
        #expect(MNISTFamily.Variant.fashionMNIST.classNames[9] == "Ankle boot")
    }

    static let realDirectory = "/usr/share/datasets/fashion-mnist"

    @Test(.enabled(if: FileManager.default.fileExists(atPath: realDirectory),
                   "Fashion-MNIST not installed at \(realDirectory) (apt-get install dataset-fashion-mnist); skipping"))
    func realFashionMNISTLoads() throws {
        let splits = try MNISTFamily.load(name: "fashion-mnist")
        #expect(splits.train.count == 60000)
        #expect(splits.test.count == 10000)
        #expect(splits.train.height == 28 && splits.train.width == 28 && splits.train.channels == 1)
        #expect(splits.train.classCounts() == [Int](repeating: 6000, count: 10))
        #expect(splits.test.labels.allSatisfy { (0..<10).contains($0) })
        #expect(splits.train.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
}
