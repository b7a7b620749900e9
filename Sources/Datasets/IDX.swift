import CZlib
import Formats
import Foundation

/// An n-dimensional array of unsigned bytes read from an IDX file.
public struct IDXArray: Sendable, Equatable {
    /// Dimension sizes, outermost first (e.g. `[60000, 28, 28]`).
    public let dimensions: [Int]
    /// Row-major payload; `bytes.count == dimensions.reduce(1, *)`.
    public let bytes: [UInt8]

    /// Creates an array after checking that `bytes` holds exactly one value per element.
    public init(dimensions: [Int], bytes: [UInt8]) throws {
        guard !dimensions.isEmpty, dimensions.count <= 255,
              dimensions.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }) else {
            throw DatasetError(.badDimensions, file: nil,
                               "IDX dimensions \(dimensions) must be 1...255 values in 0...\(UInt32.max)")
        }
        guard let product = checkedProduct(dimensions), product == bytes.count else {
            throw DatasetError(.sizeMismatch, file: nil,
                               "IDX dimensions \(dimensions) do not match \(bytes.count) payload bytes")
        }
        self.dimensions = dimensions
        self.bytes = bytes
    }
}

/// Reader and writer for the IDX format used by MNIST, Fashion-MNIST and KMNIST.
///
/// Layout: `00 00 <type> <ndims>`, then `ndims` big-endian UInt32 sizes, then the payload.
/// Files may be gzip-compressed (detected by the `1f 8b` magic, not the file name).
/// The reader trusts nothing in the header: sizes are multiplied with overflow checks,
/// capped at `maxPayloadBytes`, and must match the payload length exactly, and memory
/// is only reserved once the header has been validated.
public enum IDX {
    /// Largest payload (after decompression) the reader accepts: just under 2 GiB
    /// (2^31 - 1 bytes). The biggest real MNIST-family file is 47 MB, so anything near this
    /// is corrupt or hostile.
    public static let maxPayloadBytes = Int(Int32.max)

    /// Deflate cannot expand data by more than about 1032:1, which bounds how much a gzip
    /// file can honestly decompress to.
    static let maxDeflateRatio = 1032

    /// Element type byte for unsigned bytes, the only type the MNIST family uses.
    public static let unsignedByteType: UInt8 = 0x08

    /// Reads a plain or gzip-compressed IDX file.
    ///
    /// - Throws: `DatasetError` naming the file: `.missingFile`, `.badMagic`,
    ///   `.unsupportedType`, `.badDimensions`, `.tooLarge`, `.truncated`, `.trailingData`,
    ///   `.corruptCompression`.
    public static func read(contentsOf url: URL) throws -> IDXArray {
        // A compressed file can't be larger than its payload by more than a small factor;
        // the cap on the raw file is only there to avoid mapping absurd files.
        let data = try readFileBounded(url, limit: maxPayloadBytes + (1 << 20), what: "IDX file")
        return try parse(data, source: url.path)
    }

    /// Parses IDX bytes (plain or gzip); `source` names the origin in error messages.
    public static func parse(_ data: Data, source: String) throws -> IDXArray {
        let isGzip = data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
        // Upper bound on the bytes this input can yield, so a header claiming more is
        // reported as truncated before any memory is reserved for it.
        let (bound, overflow) = data.count.multipliedReportingOverflow(by: isGzip ? maxDeflateRatio : 1)
        var decoder = Decoder(source: source, availableBound: overflow ? Int.max : bound, boundIsExact: !isGzip)
        if isGzip {
            let complete = try inflateGzip(data, source: source) { chunk in try decoder.append(chunk) }
            // The decoder's message says how many payload bytes are missing, so ask it first.
            let array = try decoder.finish()
            guard complete else {
                throw DatasetError(.truncated, file: source,
                                   "gzip stream ends before its trailer; the file is incomplete, re-download or re-install it")
            }
            return array
        } else {
            try data.withUnsafeBytes { raw in try decoder.append(raw) }
        }
        return try decoder.finish()
    }

    /// Encodes an unsigned-byte IDX file (uncompressed).
    public static func encode(_ array: IDXArray) -> Data {
        var out = Data([0, 0, unsignedByteType, UInt8(array.dimensions.count)])
        for d in array.dimensions {
            let v = UInt32(d)
            out.append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)])
        }
        out.append(contentsOf: array.bytes)
        return out
    }

    /// Writes an uncompressed IDX file atomically (see `AtomicFile`).
    public static func write(_ array: IDXArray, to url: URL) throws {
        try AtomicFile.write(encode(array), to: url)
    }

    private static func typeName(_ t: UInt8) -> String {
        switch t {
        case 0x08: return "unsigned byte"
        case 0x09: return "signed byte"
        case 0x0B: return "int16"
        case 0x0C: return "int32"
        case 0x0D: return "float32"
        case 0x0E: return "float64"
        default: return "unknown"
        }
    }

    /// Incremental parser: fed chunks (from a file or from zlib), validates the header as
    /// soon as it is complete and only then reserves exactly the payload size.
    private struct Decoder {
        let source: String
        var header: [UInt8] = []
        var dimensions: [Int]? = nil
        var expected = 0
        var payload: [UInt8] = []
        var received = 0  // payload bytes seen, including any excess
        /// Most bytes (header included) the input can produce.
        let availableBound: Int
        /// True for uncompressed input, where the bound is the actual payload size.
        let boundIsExact: Bool

        init(source: String, availableBound: Int, boundIsExact: Bool) {
            self.source = source
            self.availableBound = availableBound
            self.boundIsExact = boundIsExact
        }

        mutating func append(_ chunk: UnsafeRawBufferPointer) throws {
            var rest = chunk[...]
            if dimensions == nil {
                // Header is 4 bytes, then 4 per dimension.
                while dimensions == nil, let byte = rest.first {
                    header.append(byte)
                    rest = rest.dropFirst()
                    try parseHeaderIfComplete()
                }
                if dimensions == nil { return }
            }
            received += rest.count
            guard received <= expected else {
                throw DatasetError(.trailingData, file: source,
                                   "IDX payload is longer than the header's dimensions \(dimensions ?? []) allow (\(expected) bytes); the file is corrupt or not an IDX file")
            }
            payload.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest))
        }

        mutating func parseHeaderIfComplete() throws {
            if header.count == 4 {
                guard header[0] == 0, header[1] == 0 else {
                    let hex = header.map { String(format: "%02x", $0) }.joined(separator: " ")
                    throw DatasetError(.badMagic, file: source,
                                       "not an IDX file: starts with \(hex), expected 00 00 08 <ndims>; check that this is an MNIST-format images/labels file")
                }
                guard header[2] == IDX.unsignedByteType else {
                    let hex = String(format: "0x%02x", header[2])
                    throw DatasetError(.unsupportedType, file: source,
                                       "IDX element type \(hex) (\(IDX.typeName(header[2]))) is not supported; only 0x08 (unsigned byte) is")
                }
                guard header[3] >= 1 else {
                    throw DatasetError(.badDimensions, file: source, "IDX header declares 0 dimensions; the file is corrupt")
                }
            }
            guard header.count >= 4, header.count == 4 + 4 * Int(header[3]) else { return }
            var dims = [Int]()
            for i in 0..<Int(header[3]) {
                let b = header[(4 + 4 * i)..<(8 + 4 * i)].map(Int.init)
                dims.append(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3])
            }
            guard let product = checkedProduct(dims) else {
                throw DatasetError(.tooLarge, file: source,
                                   "IDX dimensions \(dims) overflow when multiplied; the header is corrupt")
            }
            guard product <= IDX.maxPayloadBytes else {
                throw DatasetError(.tooLarge, file: source,
                                   "IDX dimensions \(dims) claim \(product) bytes, more than the \(IDX.maxPayloadBytes)-byte limit; the header is corrupt or the file is not an MNIST-family dataset")
            }
            let available = availableBound - header.count
            guard product <= available else {
                let got = boundIsExact ? "got \(available)" : "but this gzip file can decompress to at most \(available)"
                throw DatasetError(.truncated, file: source,
                                   "truncated IDX payload: dimensions \(dims) need \(product) bytes, \(got); the file is incomplete (re-download or re-install it) or the header is corrupt")
            }
            dimensions = dims
            expected = product
            payload.reserveCapacity(product)
        }

        func finish() throws -> IDXArray {
            guard let dims = dimensions else {
                throw DatasetError(.truncated, file: source,
                                   "IDX header is truncated: got \(header.count) bytes; the file is incomplete, re-download or re-install it")
            }
            guard received == expected else {
                throw DatasetError(.truncated, file: source,
                                   "truncated IDX payload: dimensions \(dims) need \(expected) bytes, got \(received); the file is incomplete, re-download or re-install it")
            }
            return try IDXArray(dimensions: dims, bytes: payload)
        }
    }
}

/// Streams a gzip (or zlib) stream through `sink` in bounded chunks, so memory use is
/// governed by what the sink keeps, not by the (untrusted) stream. Handles multi-member
/// gzip files. Returns false if the input ends before the stream does (truncated file).
func inflateGzip(_ data: Data, source: String, sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
    var stream = z_stream()
    // 15 + 32: maximum window, auto-detect gzip or zlib header.
    guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw DatasetError(.corruptCompression, file: source, "zlib could not be initialised (out of memory?)")
    }
    defer { inflateEnd(&stream) }
    let chunkSize = 1 << 16
    var out = [UInt8](repeating: 0, count: chunkSize)
    return try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) -> Bool in
        guard let inBase = input.baseAddress else { return false }
        stream.next_in = UnsafeMutablePointer(mutating: inBase.assumingMemoryBound(to: Bytef.self))
        var consumed = 0
        while true {
            // zlib's avail_in is 32-bit; feed at most 1 GiB at a time.
            if stream.avail_in == 0 {
                let n = min(input.count - consumed, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: (inBase + consumed).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                consumed += n
            }
            let status: Int32 = try out.withUnsafeMutableBytes { o in
                guard let oBase = o.baseAddress else { return Z_MEM_ERROR }
                stream.next_out = oBase.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(chunkSize)
                let s = inflate(&stream, Z_NO_FLUSH)
                let produced = chunkSize - Int(stream.avail_out)
                if produced > 0 { try sink(UnsafeRawBufferPointer(rebasing: o[0..<produced])) }
                return s
            }
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                // Another gzip member follows (e.g. a file made with `cat a.gz b.gz`).
                if stream.avail_in >= 2, let next = stream.next_in, next[0] == 0x1f, next[1] == 0x8b {
                    inflateReset(&stream)
                    continue
                }
                return true
            case Z_BUF_ERROR where stream.avail_in == 0 && consumed == input.count:
                return false
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw DatasetError(.corruptCompression, file: source,
                                   "gzip data is corrupt (\(detail)); re-download or re-install the file")
            }
        }
    }
}
