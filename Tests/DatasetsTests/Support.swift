import CZlib
import Foundation

/// SplitMix64: a tiny, well-mixed, seedable generator so synthetic data is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs `body` with a fresh empty directory that is removed afterwards.
func withTempDir<R>(_ body: (URL) throws -> R) throws -> R {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("datasets-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    return try body(dir)
}

struct GzipWriteFailed: Error {}

/// Writes `data` gzip-compressed with zlib's gz* API (independent of the module's reader).
func writeGzip(_ data: Data, to url: URL) throws {
    guard let file = gzopen(url.path, "wb") else { throw GzipWriteFailed() }
    let written = data.withUnsafeBytes { p in gzwrite(file, p.baseAddress, UInt32(p.count)) }
    guard gzclose(file) == Z_OK, Int(written) == data.count else { throw GzipWriteFailed() }
}

/// Big-endian IDX header bytes.
func idxHeader(type: UInt8 = 0x08, dims: [UInt32]) -> [UInt8] {
    var out: [UInt8] = [0, 0, type, UInt8(dims.count)]
    for d in dims { out += [UInt8(d >> 24), UInt8((d >> 16) & 0xff), UInt8((d >> 8) & 0xff), UInt8(d & 0xff)] }
    return out
}
