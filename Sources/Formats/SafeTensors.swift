import Foundation

/// An error reading, validating, building or accessing a safetensors file.
///
/// Every validation failure has its own `kind` so tests and callers can tell hostile-file
/// cases apart; `description` names the file (and tensor) and what to do.
public struct SafeTensorsError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// What went wrong, for programmatic matching.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The file could not be read.
        case io
        /// Fewer than 8 bytes: no room for the header length.
        case fileTooShort
        /// The declared header length runs past the end of the file.
        case headerLengthExceedsFile
        /// The declared header length exceeds `SafeTensors.maxHeaderBytes`.
        case headerTooLarge
        /// The header bytes are not valid UTF-8.
        case headerNotUTF8
        /// The header is not valid JSON (includes duplicate keys and excessive nesting).
        case headerInvalidJSON
        /// The header is JSON but not an object.
        case headerNotObject
        /// `__metadata__` is not an object of string values.
        case invalidMetadata
        /// A tensor entry is not an object with exactly dtype, shape and data_offsets.
        case invalidTensorEntry
        /// A dtype string the format does not define.
        case unknownDType
        /// A shape that is not a list of non-negative integers.
        case invalidShape
        /// A shape whose element or byte count overflows.
        case shapeOverflow
        /// data_offsets is not two non-negative integers.
        case invalidOffsets
        /// data_offsets has begin > end.
        case reversedOffsets
        /// data_offsets reach past the end of the data buffer.
        case spanOutOfBounds
        /// The span length differs from product(shape) × dtype size.
        case sizeMismatch
        /// Two tensors share bytes.
        case overlappingSpans
        /// Bytes of the data buffer belong to no tensor (a hole or trailing data).
        case bufferNotCovered
        /// An accessor asked for a tensor that does not exist.
        case missingTensor
        /// An accessor cannot convert the tensor's dtype.
        case dtypeMismatch
        /// A builder added a name twice.
        case duplicateTensor
        /// A builder used an empty name or `__metadata__`.
        case invalidName
    }

    /// What went wrong, for programmatic matching.
    public let kind: Kind
    /// File (or other source) the error is about.
    public let source: String
    /// Tensor involved, if any.
    public let tensor: String?
    /// What is wrong and what to do.
    public let message: String

    /// Creates an error about `source` (and `tensor`, if any).
    public init(_ kind: Kind, source: String, tensor: String? = nil, _ message: String) {
        self.kind = kind
        self.source = source
        self.tensor = tensor
        self.message = message
    }

    /// `"<source>: tensor "<name>": <message>"`.
    public var description: String {
        if let tensor { return "\(source): tensor \"\(tensor)\": \(message)" }
        return "\(source): \(message)"
    }

    /// Same as `description`.
    public var errorDescription: String? { description }
}

/// Element types defined by the safetensors format.
public enum SafeTensorsDType: String, Sendable, CaseIterable, Codable {
    case BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3: return 1
        case .I16, .U16, .F16, .BF16: return 2
        case .I32, .U32, .F32: return 4
        case .F64, .I64, .U64: return 8
        }
    }
}

/// A safetensors file in memory: named tensors (in buffer order) plus string metadata.
///
/// Model checkpoints and crafted poison sets are exchanged with Python tooling in this
/// format. Files come from other people, so reading validates everything the format
/// promises (see `init(data:source:)`) and never allocates more than the input's size.
/// Writing is deterministic (sorted header keys, data in insertion order) so identical
/// experiments produce byte-identical files that can be hashed.
public struct SafeTensors: Sendable, Equatable {
    /// One tensor: name, element type, shape and little-endian raw bytes.
    public struct Tensor: Sendable, Equatable {
        /// Unique name within the file.
        public let name: String
        /// Element type.
        public let dtype: SafeTensorsDType
        /// Dimension sizes (empty for a scalar).
        public let shape: [Int]
        /// Little-endian element data; `bytes.count == shape product * dtype.byteSize`.
        public let bytes: [UInt8]

        /// Number of elements (product of `shape`; 1 for a scalar).
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// Largest header accepted (the reference implementation's limit).
    public static let maxHeaderBytes = 100_000_000

    /// Tensors in buffer order (insertion order for files built in memory).
    public private(set) var tensors: [Tensor] = []
    /// Free-form string metadata (`__metadata__`), e.g. experiment id, format version.
    public var metadata: [String: String]
    /// Where this was read from, used in accessor error messages.
    public let source: String

    /// An empty container to fill with `add`.
    public init(metadata: [String: String] = [:], source: String = "<memory>") {
        self.metadata = metadata
        self.source = source
    }

    /// Equal when tensors (including order) and metadata are equal; `source` is ignored so a
    /// file read back compares equal to what was written.
    public static func == (a: SafeTensors, b: SafeTensors) -> Bool {
        a.tensors == b.tensors && a.metadata == b.metadata
    }

    /// Tensor names in order.
    public var names: [String] { tensors.map(\.name) }

    /// Reads and validates a file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw SafeTensorsError(.io, source: url.path, "cannot read the file (\(error.localizedDescription)); check the path")
        }
        try self.init(data: data, source: url.path)
    }

    /// Parses and validates safetensors bytes; `source` names the origin in errors.
    ///
    /// Checks: at least 8 bytes; header length within the file and at most 100 MB; header is
    /// UTF-8 JSON object; known dtypes; shapes are lists of non-negative integers whose
    /// product does not overflow; `data_offsets` are `[begin, end]` with begin ≤ end inside
    /// the buffer and `end - begin == product(shape) * dtype size`; spans neither overlap nor
    /// leave holes, and cover the whole buffer; `__metadata__` maps strings to strings.
    public init(data: Data, source: String) throws {
        self.source = source
        self.metadata = [:]
        // Indexed in place (a mapped file is not copied): only the tensors of a file that
        // passed every check are copied out. Rebased so offsets count from zero.
        let bytes = data.startIndex == 0 ? data : Data(data)
        guard bytes.count >= 8 else {
            throw SafeTensorsError(.fileTooShort, source: source,
                                   "file is \(bytes.count) bytes, shorter than the 8-byte header length; it is truncated or not a safetensors file")
        }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        let available = UInt64(bytes.count - 8)
        guard headerLength <= UInt64(SafeTensors.maxHeaderBytes) else {
            throw SafeTensorsError(.headerTooLarge, source: source,
                                   "header length \(headerLength) exceeds the \(SafeTensors.maxHeaderBytes)-byte limit; the file is corrupt or hostile")
        }
        guard headerLength <= available else {
            throw SafeTensorsError(.headerLengthExceedsFile, source: source,
                                   "header length \(headerLength) is larger than the \(available) bytes after the length field; the file is truncated or corrupt")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = Array(bytes[8..<headerEnd])
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw SafeTensorsError(.headerNotUTF8, source: source, "header is not valid UTF-8; the file is corrupt")
        }
        let json: JSONValue
        do {
            json = try MiniJSONParser.parse(headerBytes)
        } catch {
            throw SafeTensorsError(.headerInvalidJSON, source: source,
                                   "header is not valid JSON: \(error.reason) at byte \(error.offset) of the header; the file is corrupt")
        }
        guard case .object(let members) = json else {
            throw SafeTensorsError(.headerNotObject, source: source,
                                   "header is \(json.kindName), expected a JSON object mapping tensor names to {dtype, shape, data_offsets}")
        }
        let bufferSize = bytes.count - headerEnd

        struct Entry { let name: String; let dtype: SafeTensorsDType; let shape: [Int]; let begin: Int; let end: Int }
        var entries: [Entry] = []
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else {
                    throw SafeTensorsError(.invalidMetadata, source: source,
                                           "__metadata__ is \(value.kindName), expected an object of string values")
                }
                for (key, v) in pairs {
                    guard case .string(let s) = v else {
                        throw SafeTensorsError(.invalidMetadata, source: source,
                                               "__metadata__ key \"\(key)\" is \(v.kindName), but metadata values must be strings")
                    }
                    metadata[key] = s
                }
                continue
            }
            guard case .object(let fields) = value else {
                throw SafeTensorsError(.invalidTensorEntry, source: source, tensor: name,
                                       "entry is \(value.kindName), expected an object with dtype, shape and data_offsets")
            }
            var dtypeValue: JSONValue?, shapeValue: JSONValue?, offsetsValue: JSONValue?
            for (key, v) in fields {
                switch key {
                case "dtype": dtypeValue = v
                case "shape": shapeValue = v
                case "data_offsets": offsetsValue = v
                default:
                    throw SafeTensorsError(.invalidTensorEntry, source: source, tensor: name,
                                           "unexpected field \"\(key)\"; only dtype, shape and data_offsets are allowed")
                }
            }
            guard let dtypeValue, let shapeValue, let offsetsValue else {
                throw SafeTensorsError(.invalidTensorEntry, source: source, tensor: name,
                                       "entry must have dtype, shape and data_offsets")
            }
            guard case .string(let dtypeName) = dtypeValue, let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                let shown: String
                if case .string(let s) = dtypeValue { shown = "\"\(s)\"" } else { shown = dtypeValue.kindName }
                throw SafeTensorsError(.unknownDType, source: source, tensor: name,
                                       "unknown dtype \(shown); supported: \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard case .array(let dims) = shapeValue else {
                throw SafeTensorsError(.invalidShape, source: source, tensor: name,
                                       "shape is \(shapeValue.kindName), expected a list of non-negative integers")
            }
            var shape: [Int] = []
            shape.reserveCapacity(dims.count)
            for d in dims {
                guard case .integer(false, let m) = d, m <= UInt64(Int.max) else {
                    throw SafeTensorsError(.invalidShape, source: source, tensor: name,
                                           "shape contains \(d.kindName), expected only non-negative integers")
                }
                shape.append(Int(m))
            }
            guard let count = checkedProduct(shape) else {
                throw SafeTensorsError(.shapeOverflow, source: source, tensor: name,
                                       "shape \(shape) has more elements than can be counted; the header is corrupt")
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow else {
                throw SafeTensorsError(.shapeOverflow, source: source, tensor: name,
                                       "shape \(shape) of \(dtype.rawValue) needs more bytes than can be counted; the header is corrupt")
            }
            guard case .array(let offs) = offsetsValue, offs.count == 2,
                  case .integer(false, let b) = offs[0], case .integer(false, let e) = offs[1] else {
                throw SafeTensorsError(.invalidOffsets, source: source, tensor: name,
                                       "data_offsets must be a list of two non-negative integers [begin, end]")
            }
            guard b <= e else {
                throw SafeTensorsError(.reversedOffsets, source: source, tensor: name,
                                       "data_offsets [\(b), \(e)] has begin after end; the header is corrupt")
            }
            guard e <= UInt64(bufferSize) else {
                throw SafeTensorsError(.spanOutOfBounds, source: source, tensor: name,
                                       "data_offsets [\(b), \(e)] reach past the end of the \(bufferSize)-byte data buffer; the file is truncated or corrupt")
            }
            let begin = Int(b), end = Int(e)
            guard end - begin == byteCount else {
                throw SafeTensorsError(.sizeMismatch, source: source, tensor: name,
                                       "data_offsets [\(begin), \(end)] span \(end - begin) bytes but shape \(shape) of \(dtype.rawValue) needs \(byteCount); the header is corrupt")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }

        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var cursor = 0
        var previous: String?
        for entry in entries {
            if entry.begin < cursor {
                throw SafeTensorsError(.overlappingSpans, source: source, tensor: entry.name,
                                       "data_offsets [\(entry.begin), \(entry.end)] overlap tensor \"\(previous ?? "?")\" (which ends at \(cursor)); each byte must belong to one tensor")
            }
            if entry.begin > cursor {
                throw SafeTensorsError(.bufferNotCovered, source: source, tensor: entry.name,
                                       "bytes \(cursor)..<\(entry.begin) of the data buffer belong to no tensor; the format requires the buffer to be fully covered (hidden data?)")
            }
            cursor = entry.end
            previous = entry.name
        }
        guard cursor == bufferSize else {
            throw SafeTensorsError(.bufferNotCovered, source: source,
                                   "bytes \(cursor)..<\(bufferSize) at the end of the data buffer belong to no tensor; the format requires the buffer to be fully covered (hidden data?)")
        }
        tensors = entries.map {
            Tensor(name: $0.name, dtype: $0.dtype, shape: $0.shape,
                   bytes: Array(bytes[(headerEnd + $0.begin)..<(headerEnd + $0.end)]))
        }
    }

    // MARK: Writing

    /// Serializes to safetensors bytes: `__metadata__` first (if any), then tensor entries
    /// with keys sorted, header padded with spaces to a multiple of 8, data in tensor order.
    public func data() -> Data {
        var offsets: [String: (Int, Int)] = [:]
        var position = 0
        for t in tensors {
            offsets[t.name] = (position, position + t.bytes.count)
            position += t.bytes.count
        }
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }.joined(separator: ",")
            json += "}"
            first = false
        }
        for t in tensors.sorted(by: { $0.name < $1.name }) {
            let (b, e) = offsets[t.name] ?? (0, 0)
            if !first { json += "," }
            first = false
            json += "\(jsonString(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(b),\(e)]}"
        }
        json += "}"
        var header = Array(json.utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = Data(capacity: 8 + header.count + position)
        let n = UInt64(header.count)
        for i in 0..<8 { out.append(UInt8((n >> (8 * UInt64(i))) & 0xff)) }
        out.append(contentsOf: header)
        for t in tensors { out.append(contentsOf: t.bytes) }
        return out
    }

    /// Writes the file atomically (see `AtomicFile`).
    public func write(to url: URL) throws {
        try AtomicFile.write(data(), to: url)
    }

    // MARK: Building

    /// Appends a tensor with raw little-endian bytes.
    ///
    /// - Throws: `.duplicateTensor`, `.invalidName` (empty or `__metadata__`),
    ///   `.invalidShape` (negative dims) or `.sizeMismatch`.
    public mutating func add(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) throws {
        guard !name.isEmpty, name != "__metadata__" else {
            throw SafeTensorsError(.invalidName, source: source, tensor: name, "tensor names must be non-empty and not \"__metadata__\"")
        }
        guard !tensors.contains(where: { $0.name == name }) else {
            throw SafeTensorsError(.duplicateTensor, source: source, tensor: name, "a tensor with this name was already added; use a unique name")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw SafeTensorsError(.invalidShape, source: source, tensor: name, "shape \(shape) has a negative dimension")
        }
        let needed = checkedProduct(shape).map { $0.multipliedReportingOverflow(by: dtype.byteSize) }
        guard let needed, !needed.overflow, needed.partialValue == bytes.count else {
            throw SafeTensorsError(.sizeMismatch, source: source, tensor: name,
                                   "shape \(shape) of \(dtype.rawValue) does not match \(bytes.count) bytes of data")
        }
        tensors.append(Tensor(name: name, dtype: dtype, shape: shape, bytes: bytes))
    }

    /// Appends an F32 tensor.
    public mutating func add(name: String, floats: [Float], shape: [Int]) throws {
        var bytes = [UInt8]()
        bytes.reserveCapacity(floats.count * 4)
        for f in floats {
            let v = f.bitPattern
            bytes.append(contentsOf: [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)])
        }
        try add(name: name, dtype: .F32, shape: shape, bytes: bytes)
    }

    /// Appends an I64 tensor.
    public mutating func add(name: String, int64s: [Int64], shape: [Int]) throws {
        var bytes = [UInt8]()
        bytes.reserveCapacity(int64s.count * 8)
        for x in int64s {
            let v = UInt64(bitPattern: x)
            for i in 0..<8 { bytes.append(UInt8((v >> (8 * UInt64(i))) & 0xff)) }
        }
        try add(name: name, dtype: .I64, shape: shape, bytes: bytes)
    }

    // MARK: Accessing

    /// The tensor called `name`.
    ///
    /// - Throws: `.missingTensor`, listing the available names.
    public func tensor(_ name: String) throws -> Tensor {
        guard let t = tensors.first(where: { $0.name == name }) else {
            let available = names.isEmpty ? "(none)" : names.map { "\"\($0)\"" }.joined(separator: ", ")
            throw SafeTensorsError(.missingTensor, source: source, tensor: name,
                                   "no such tensor; available: \(available)")
        }
        return t
    }

    /// Shape of tensor `name`.
    public func shape(of name: String) throws -> [Int] {
        try tensor(name).shape
    }

    /// Elements of a floating-point tensor as `Float` (F32 exactly; F64 rounded;
    /// F16 and BF16 widened).
    ///
    /// - Throws: `.missingTensor` or `.dtypeMismatch` for non-float dtypes.
    public func floats(_ name: String) throws -> [Float] {
        let t = try tensor(name)
        let b = t.bytes
        switch t.dtype {
        case .F32:
            return stride(from: 0, to: b.count, by: 4).map { Float(bitPattern: le32(b, $0)) }
        case .F64:
            return stride(from: 0, to: b.count, by: 8).map { Float(Double(bitPattern: le64(b, $0))) }
        case .F16:
            return stride(from: 0, to: b.count, by: 2).map { halfToFloat(UInt16(b[$0]) | UInt16(b[$0 + 1]) << 8) }
        case .BF16:
            return stride(from: 0, to: b.count, by: 2).map { Float(bitPattern: (UInt32(b[$0]) | UInt32(b[$0 + 1]) << 8) << 16) }
        default:
            throw SafeTensorsError(.dtypeMismatch, source: source, tensor: name,
                                   "dtype is \(t.dtype.rawValue), not a float type (F32, F64, F16, BF16); use int64s(_:) or the raw bytes")
        }
    }

    /// Elements of an integer tensor as `Int64` (I64, I32, I16, I8, U32, U16, U8, BOOL;
    /// U64 when every value fits).
    ///
    /// - Throws: `.missingTensor` or `.dtypeMismatch`.
    public func int64s(_ name: String) throws -> [Int64] {
        let t = try tensor(name)
        let b = t.bytes
        switch t.dtype {
        case .I64:
            return stride(from: 0, to: b.count, by: 8).map { Int64(bitPattern: le64(b, $0)) }
        case .U64:
            let values = stride(from: 0, to: b.count, by: 8).map { le64(b, $0) }
            guard let big = values.first(where: { $0 > UInt64(Int64.max) }) else { return values.map { Int64($0) } }
            throw SafeTensorsError(.dtypeMismatch, source: source, tensor: name, "U64 value \(big) does not fit in Int64")
        case .I32:
            return stride(from: 0, to: b.count, by: 4).map { Int64(Int32(bitPattern: le32(b, $0))) }
        case .U32:
            return stride(from: 0, to: b.count, by: 4).map { Int64(le32(b, $0)) }
        case .I16:
            return stride(from: 0, to: b.count, by: 2).map { Int64(Int16(bitPattern: UInt16(b[$0]) | UInt16(b[$0 + 1]) << 8)) }
        case .U16:
            return stride(from: 0, to: b.count, by: 2).map { Int64(UInt16(b[$0]) | UInt16(b[$0 + 1]) << 8) }
        case .I8:
            return b.map { Int64(Int8(bitPattern: $0)) }
        case .U8, .BOOL:
            return b.map { Int64($0) }
        default:
            throw SafeTensorsError(.dtypeMismatch, source: source, tensor: name,
                                   "dtype is \(t.dtype.rawValue), not an integer type; use floats(_:)")
        }
    }
}

@inline(__always)
private func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
}

@inline(__always)
private func le64(_ b: [UInt8], _ i: Int) -> UInt64 {
    UInt64(le32(b, i)) | UInt64(le32(b, i + 4)) << 32
}

/// IEEE 754 half → single, including subnormals, infinities and NaN.
private func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int((h >> 10) & 0x1f)
    let mantissa = UInt32(h & 0x3ff)
    if exponent == 0 {
        let magnitude = Float(mantissa) * 0x1p-24  // subnormal (or zero)
        return sign != 0 ? -magnitude : magnitude
    }
    if exponent == 31 {
        return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
    }
    return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
}

/// JSON string literal with the escapes RFC 8259 requires.
private func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20:
            out += String(format: "\\u%04x", u.value)
        default:
            out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

/// The product of `values` (an element count from a shape), or nil when it overflows.
public func checkedProduct(_ values: [Int]) -> Int? {
    var product = 1
    for v in values {
        let (p, overflow) = product.multipliedReportingOverflow(by: v)
        if overflow { return nil }
        product = p
    }
    return product
}
