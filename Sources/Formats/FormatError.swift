import Foundation

/// A file that could not be written, or an image grid asked for with sizes that disagree:
/// the errors of the format helpers that have no error type of their own (safetensors and
/// PNG do), naming the file when there is one.
public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The operating system refused a read, write, rename or directory creation.
        case io
        /// The caller's sizes or options are inconsistent.
        case invalidArgument
    }

    public let kind: Kind
    public let file: String?
    public let message: String

    public init(_ kind: Kind, file: String?, _ message: String) {
        (self.kind, self.file, self.message) = (kind, file, message)
    }

    public var description: String { file.map { "\($0): \(message)" } ?? message }
    public var errorDescription: String? { description }
}
