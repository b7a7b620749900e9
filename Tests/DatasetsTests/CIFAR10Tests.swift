import Datasets
import Formats
import Foundation
import Testing
import TestSupport

@Suite struct CIFAR10Tests {
    /// Raw batch bytes: record i has label labels[i] and every pixel equal to i*10 + channel.
    func batch(_ labels: [UInt8]) -> Data {
        var out = Data()
        for (i, label) in labels.enumerated() {
            out.append(label)
            for c in 0..<3 { out.append(contentsOf: [UInt8](repeating: UInt8(i * 10 + c), count: 1024)) }
        }
        return out
    }

    @Test func parsesChannelMajorRecords() throws {
        let images = try CIFAR10.parseBatch(batch([3, 9]), source: "b.bin")
        #expect(images.count == 2 && images.channels == 3 && images.height == 32 && images.width == 32)
        #expect(images.labels == [3, 9])
        let second = Array(images.image(at: 1))
        #expect(second[0] == Float(10) / 255 && second[1024] == Float(11) / 255 && second[2048] == Float(12) / 255)
        #expect(images.info.classNames[9] == "truck")
        // Encoding gives back the same bytes.
        #expect(try CIFAR10.encodeBatch(images) == batch([3, 9]))
    }

    @Test func loadsDirectoryAndNestedFolder() throws {
        try withTempDir { dir in
            let nested = dir.appendingPathComponent("cifar-10-batches-bin")
            for (k, name) in CIFAR10.trainFiles.enumerated() {
                try AtomicFile.write(batch([UInt8(k), UInt8(k + 1)]), to: nested.appendingPathComponent(name))
            }
            try AtomicFile.write(batch([7]), to: nested.appendingPathComponent(CIFAR10.testFile))
            let splits = try CIFAR10.load(directory: dir)
            #expect(splits.train.count == 10)
            #expect(splits.train.labels == [0, 1, 1, 2, 2, 3, 3, 4, 4, 5])
            #expect(splits.test.labels == [7])
        }
    }

    @Test func rejectsWrongLengthAndBadLabels() throws {
        let short = #expect(throws: DatasetError.self) { try CIFAR10.parseBatch(batch([1]).dropLast(), source: "short.bin") }
        #expect(short?.kind == .truncated)
        #expect(short?.message.contains("3073") == true)
        let empty = #expect(throws: DatasetError.self) { try CIFAR10.parseBatch(Data(), source: "empty.bin") }
        #expect(empty?.kind == .truncated)
        let label = #expect(throws: DatasetError.self) { try CIFAR10.parseBatch(batch([1, 10]), source: "c100.bin") }
        #expect(label?.kind == .labelOutOfRange)
        #expect(label?.message.contains("record 1") == true)
        try withTempDir { dir in
            let missing = #expect(throws: DatasetError.self) { try CIFAR10.load(directory: dir) }
            #expect(missing?.kind == .missingFile)
            #expect(missing?.message.contains("data_batch_1.bin") == true)
        }
    }
}
