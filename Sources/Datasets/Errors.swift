import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from loading, validating or writing a dataset file.
///
/// Errors are plain values so callers can match on `kind` (tests, retry logic) while
/// people read `description`, which always names the file involved, what is wrong,
/// and what to do about it.
public struct DatasetError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// What went wrong, for programmatic matching.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// A file or directory could not be found.
        case missingFile
        /// The operating system refused a read, write, rename or fsync.
        case io
        /// An IDX file does not start with `00 00 <type> <dims>`.
        case badMagic
        /// An IDX element type other than 0x08 (unsigned byte).
        case unsupportedType
        /// An IDX header with an unusable dimension count or dimensions.
        case badDimensions
        /// The file or its decompressed contents exceed what the module will load.
        case tooLarge
        /// The payload is shorter than the header says.
        case truncated
        /// The payload is longer than the header says.
        case trailingData
        /// A gzip stream could not be decompressed.
        case corruptCompression
        /// A label is outside `0..<numClasses`.
        case labelOutOfRange
        /// Two files or arrays that must agree in size do not.
        case sizeMismatch
        /// A caller passed an argument that cannot work (e.g. unknown dataset name).
        case invalidArgument
    }

    /// What went wrong, for programmatic matching.
    public let kind: Kind
    /// Path of the file involved, if any.
    public let file: String?
    /// A sentence saying what is wrong and what to do about it.
    public let message: String

    /// Creates an error; `file` is the path that the message is about.
    public init(_ kind: Kind, file: String?, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    /// `"<file>: <message>"`, or just the message when no file is involved.
    public var description: String {
        if let file { return "\(file): \(message)" }
        return message
    }

    /// Same as `description`, so `localizedDescription` is useful too.
    public var errorDescription: String? { description }
}

/// Reads a whole regular file, refusing files larger than `limit` before reading a byte,
/// so a huge or hostile file cannot make us allocate unbounded memory.
func readFileBounded(_ url: URL, limit: Int, what: String) throws -> Data {
    let path = url.path
    var st = stat()
    guard stat(path, &st) == 0 else {
        let reason = String(cString: strerror(errno))
        throw DatasetError(.missingFile, file: path, "cannot open \(what) (\(reason)); check the path")
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
        throw DatasetError(.invalidArgument, file: path, "\(what) is not a regular file; pass the path of the file itself")
    }
    let size = Int(st.st_size)
    guard size <= limit else {
        throw DatasetError(.tooLarge, file: path,
                           "\(what) is \(size) bytes, more than the \(limit)-byte limit; this is not a valid file of this kind")
    }
    do {
        return try Data(contentsOf: url, options: .mappedIfSafe)
    } catch {
        throw DatasetError(.io, file: path, "cannot read \(what): \(error.localizedDescription)")
    }
}
