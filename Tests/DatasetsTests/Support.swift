import CZlib
import Foundation

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
