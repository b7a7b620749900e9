import Datasets
import Foundation
import Testing
import TestSupport

@Suite struct IDXTests {
    func makeSample() throws -> IDXArray {
        try IDXArray(dimensions: [3, 2, 4], bytes: (0..<24).map { UInt8($0 * 10) })
    }

    @Test func roundTripPlain() throws {
        try withTempDir { dir in
            let url = dir.appendingPathComponent("x-idx3-ubyte")
            let sample = try makeSample()
            try IDX.write(sample, to: url)
            #expect(try Data(contentsOf: url).count == 4 + 12 + 24)
            #expect(try IDX.read(contentsOf: url) == sample)
        }
    }

    @Test func roundTripGzip() throws {
        try withTempDir { dir in
            let url = dir.appendingPathComponent("x-idx3-ubyte.gz")
            let sample = try makeSample()
            try writeGzip(IDX.encode(sample), to: url)
            let raw = try Data(contentsOf: url)
            #expect(raw.prefix(2) == Data([0x1f, 0x8b]))
            #expect(try IDX.read(contentsOf: url) == sample)
        }
    }

    @Test func badMagic() {
        let error = #expect(throws: DatasetError.self) {
            try IDX.parse(Data([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 0]), source: "bad.idx")
        }
        #expect(error?.kind == .badMagic)
        #expect(error?.description.contains("bad.idx") == true)
    }

    @Test func wrongTypeByte() {
        let error = #expect(throws: DatasetError.self) {
            try IDX.parse(Data(idxHeader(type: 0x0D, dims: [1]) + [0, 0, 0, 0]), source: "float.idx")
        }
        #expect(error?.kind == .unsupportedType)
        #expect(error?.message.contains("0x0d") == true)
    }

    @Test func truncatedPayloadReportsExpectedAndActual() throws {
        let bytes = Data(idxHeader(dims: [10, 10]) + [UInt8](repeating: 7, count: 60))
        let plain = #expect(throws: DatasetError.self) { try IDX.parse(bytes, source: "short.idx") }
        #expect(plain?.kind == .truncated)
        #expect(plain?.message.contains("need 100 bytes, got 60") == true)

        try withTempDir { dir in
            // A gzip stream cut in half: reported as truncated, never as a crash.
            let url = dir.appendingPathComponent("full.gz")
            try writeGzip(IDX.encode(try IDXArray(dimensions: [4000], bytes: (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })), to: url)
            let gz = try Data(contentsOf: url)
            let error = #expect(throws: DatasetError.self) { try IDX.parse(gz.prefix(gz.count / 2), source: "cut.gz") }
            #expect(error?.kind == .truncated)
        }
    }

    @Test func trailingDataIsRejected() {
        let error = #expect(throws: DatasetError.self) {
            try IDX.parse(Data(idxHeader(dims: [2]) + [1, 2, 3]), source: "long.idx")
        }
        #expect(error?.kind == .trailingData)
    }

    @Test func hugeHeadersAreRefusedBeforeAllocating() throws {
        // 2^31 items of one byte: over the 2 GiB cap.
        let huge = #expect(throws: DatasetError.self) {
            try IDX.parse(Data(idxHeader(dims: [0x8000_0000]) + [1, 2, 3]), source: "huge.idx")
        }
        #expect(huge?.kind == .tooLarge)
        #expect(huge?.message.contains("2147483648") == true)
        // Product of dimensions overflows Int.
        let overflow = #expect(throws: DatasetError.self) {
            try IDX.parse(Data(idxHeader(dims: [.max, .max, .max])), source: "overflow.idx")
        }
        #expect(overflow?.kind == .tooLarge)
        // Within the cap but far more than a 3-byte payload (or a tiny gzip file) can hold:
        // reported as truncated before reserving memory for it.
        let claim = Data(idxHeader(dims: [100_000_000]) + [1, 2, 3])
        let plain = #expect(throws: DatasetError.self) { try IDX.parse(claim, source: "claim.idx") }
        #expect(plain?.kind == .truncated)
        #expect(plain?.message.contains("need 100000000 bytes, got 3") == true)
        try withTempDir { dir in
            let url = dir.appendingPathComponent("claim.gz")
            try writeGzip(claim, to: url)
            let gz = #expect(throws: DatasetError.self) { try IDX.read(contentsOf: url) }
            #expect(gz?.kind == .truncated)
            #expect(gz?.message.contains("at most") == true, "\(String(describing: gz))")
        }
    }

    @Test func truncatedHeaderAndEmptyFile() {
        let empty = #expect(throws: DatasetError.self) { try IDX.parse(Data(), source: "empty.idx") }
        #expect(empty?.kind == .truncated)
        let zeroDims = #expect(throws: DatasetError.self) { try IDX.parse(Data([0, 0, 8, 0]), source: "z.idx") }
        #expect(zeroDims?.kind == .badDimensions)
    }

    @Test func corruptGzip() {
        let error = #expect(throws: DatasetError.self) {
            try IDX.parse(Data([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), source: "junk.gz")
        }
        #expect(error?.kind == .corruptCompression || error?.kind == .truncated)
    }
}
