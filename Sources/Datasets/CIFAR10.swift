import Formats
import Foundation
import Vocabulary

/// Reader for the CIFAR-10 binary distribution (`cifar-10-binary.tar.gz`).
///
/// Each batch file is a sequence of 3073-byte records: one label byte, then a 3×32×32
/// image stored channel-major (all red, then green, then blue), which is already the
/// N,C,H,W layout `LabeledImages` uses.
public enum CIFAR10 {
    /// Class names, indexed by label.
    public static let classNames = ["airplane", "automobile", "bird", "cat", "deer",
                                    "dog", "frog", "horse", "ship", "truck"]
    /// Metadata attached to loaded splits.
    public static let info = DatasetInfo(name: "cifar10", classNames: classNames)
    /// Bytes per record: 1 label + 3 × 32 × 32 pixels.
    public static let recordSize = 1 + 3 * 32 * 32
    /// Training batch file names, in order.
    public static let trainFiles = (1...5).map { "data_batch_\($0).bin" }
    /// Test batch file name.
    public static let testFile = "test_batch.bin"
    /// Largest batch file accepted (real ones are 30 MB); refuses absurd files before reading.
    public static let maxFileBytes = 1 << 30

    /// Loads the five training batches and the test batch from `directory`, or from its
    /// `cifar-10-batches-bin` subfolder (the layout the tarball extracts to).
    ///
    /// - Throws: `DatasetError` naming the missing or malformed file and how to fix it.
    public static func load(directory: URL) throws -> DatasetSplits {
        let dir = try resolveDirectory(directory)
        var pixels = [Float](), labels = [Int]()
        for name in trainFiles {
            let batch = try readBatch(contentsOf: dir.appendingPathComponent(name))
            pixels.append(contentsOf: batch.pixels)
            labels.append(contentsOf: batch.labels)
        }
        let train = try LabeledImages(info: info, channels: 3, height: 32, width: 32, pixels: pixels, labels: labels)
        let test = try readBatch(contentsOf: dir.appendingPathComponent(testFile))
        return DatasetSplits(train: train, test: test)
    }

    /// Reads one batch file.
    public static func readBatch(contentsOf url: URL) throws -> LabeledImages {
        let data = try readFileBounded(url, limit: maxFileBytes, what: "CIFAR-10 batch")
        return try parseBatch(data, source: url.path)
    }

    /// Parses one batch; `source` names the origin in error messages. The length must be a
    /// positive multiple of `recordSize` and every label below 10.
    public static func parseBatch(_ data: Data, source: String) throws -> LabeledImages {
        guard data.count > 0, data.count % recordSize == 0 else {
            throw DatasetError(.truncated, file: source,
                               "CIFAR-10 batch is \(data.count) bytes, not a positive multiple of the \(recordSize)-byte record size (\(data.count / recordSize) whole records + \(data.count % recordSize) bytes); the file is truncated or not from the binary (not Python) distribution")
        }
        let n = data.count / recordSize
        var pixels = [Float](repeating: 0, count: n * (recordSize - 1))
        var labels = [Int](repeating: 0, count: n)
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            for i in 0..<n {
                let base = i * recordSize
                let label = Int(bytes[base])
                guard label < 10 else {
                    throw DatasetError(.labelOutOfRange, file: source,
                                       "record \(i) has label \(label), but CIFAR-10 labels are 0...9; this may be a CIFAR-100 file or corrupt")
                }
                labels[i] = label
                let out = i * (recordSize - 1)
                for j in 0..<(recordSize - 1) {
                    pixels[out + j] = Float(bytes[base + 1 + j]) / 255
                }
            }
        }
        return try LabeledImages(info: info, channels: 3, height: 32, width: 32, pixels: pixels, labels: labels)
    }

    /// Encodes images as a CIFAR-10 batch (values in [0,1] are rounded to bytes); useful
    /// for exporting poisoned sets in the original format and for tests.
    public static func encodeBatch(_ images: LabeledImages) throws -> Data {
        guard images.channels == 3, images.height == 32, images.width == 32 else {
            throw DatasetError(.invalidArgument, file: nil,
                               "CIFAR-10 batches hold 3x32x32 images, got \(images.channels)x\(images.height)x\(images.width)")
        }
        guard let bad = images.labels.first(where: { $0 > 255 }) else {
            var out = Data(capacity: images.count * recordSize)
            for i in 0..<images.count {
                out.append(UInt8(images.labels[i]))
                out.append(contentsOf: images.image(at: i).map(pixelByte))
            }
            return out
        }
        throw DatasetError(.labelOutOfRange, file: nil, "label \(bad) does not fit in a byte")
    }

    private static func resolveDirectory(_ directory: URL) throws -> URL {
        let nested = directory.appendingPathComponent("cifar-10-batches-bin")
        for dir in [directory, nested] {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent(trainFiles[0]).path) {
                return dir
            }
        }
        throw DatasetError(.missingFile, file: directory.path,
                           "no CIFAR-10 batches here or in cifar-10-batches-bin/ (expected \(trainFiles.joined(separator: ", ")), \(testFile)); extract cifar-10-binary.tar.gz into this folder or set data_dir in the zoo spec (--data-dir of `victims import`) to another folder")
    }
}
