import Foundation

/// Everything that can go wrong while encoding, decoding or writing a report.
///
/// Each case carries enough context (file, JSON path, expected value) for a person to fix
/// the problem without reading the source; `description` is the message to show them.
public enum ReportError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// The JSON document declares a schema this build does not understand (or none at all).
    case unsupportedSchema(found: String?, expected: String)
    /// The JSON could not be decoded; `path` is the coding path of the offending value.
    case malformedJSON(path: String, detail: String)
    /// A number that JSON cannot represent (NaN or infinity) was about to be encoded.
    case nonFiniteNumber(path: String)
    /// An image name would escape the report directory or is otherwise unusable as a file name.
    case invalidImageName(String)
    /// A file the operation needs does not exist.
    case missingFile(path: String, hint: String)
    /// Reading or writing a file failed at the operating-system level.
    case ioFailed(path: String, detail: String)
    /// A report file that is not a report this build can read; `reason` is the decoding error.
    case unreadableReport(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unsupportedSchema(found, expected):
            if let found {
                return "unsupported report schema \"\(found)\"; this build reads \"\(expected)\". "
                    + "Re-run the command that produced the file with this version of amnesia, "
                    + "or use the amnesia version that wrote it."
            }
            return "the JSON has no \"schema\" field; expected \"\(expected)\". "
                + "Is this file really an amnesia report?"
        case let .malformedJSON(path, detail):
            return "malformed report JSON at \(path.isEmpty ? "the top level" : path): \(detail)"
        case let .nonFiniteNumber(path):
            return "cannot encode a NaN or infinite number at \(path) (JSON has no such values); "
                + "check the metric that produced it (e.g. an empty test set or a diverged victim)."
        case let .invalidImageName(name):
            return "invalid image name \"\(name)\": use a plain file name such as \"poison_grid.png\" "
                + "(no \"/\", no \"..\", not empty) so it lands inside the report directory."
        case let .missingFile(path, hint):
            return "missing file \(path): \(hint)"
        case let .ioFailed(path, detail):
            return "could not write or read \(path): \(detail)"
        case let .unreadableReport(path, reason):
            return "\(path) is not a report amnesia can read (\(reason)); re-run the command that wrote it"
        }
    }

    public var errorDescription: String? { description }
}

/// Turns a `CodingKey` path into `a.b[2].c` for error messages.
func renderCodingPath(_ path: [any CodingKey]) -> String {
    var out = ""
    for key in path {
        if let index = key.intValue {
            out += "[\(index)]"
        } else {
            out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
        }
    }
    return out
}

/// Maps Foundation's decoding errors to `ReportError.malformedJSON` with a readable path.
func wrapDecodingError(_ error: any Error) -> ReportError {
    if let reportError = error as? ReportError { return reportError }
    guard let decodingError = error as? DecodingError else {
        return .malformedJSON(path: "", detail: "\(error)")
    }
    switch decodingError {
    case let .keyNotFound(key, context):
        let path = renderCodingPath(context.codingPath + [key])
        return .malformedJSON(path: path, detail: "required key \"\(key.stringValue)\" is missing")
    case let .typeMismatch(type, context):
        return .malformedJSON(path: renderCodingPath(context.codingPath),
                              detail: "expected \(type): \(context.debugDescription)")
    case let .valueNotFound(type, context):
        return .malformedJSON(path: renderCodingPath(context.codingPath),
                              detail: "expected \(type) but found null")
    case let .dataCorrupted(context):
        return .malformedJSON(path: renderCodingPath(context.codingPath), detail: context.debugDescription)
    @unknown default:
        return .malformedJSON(path: "", detail: "\(decodingError)")
    }
}

/// Maps Foundation's encoding errors (in practice: NaN/infinity) to `ReportError`.
func wrapEncodingError(_ error: any Error) -> ReportError {
    if let reportError = error as? ReportError { return reportError }
    if let encodingError = error as? EncodingError, case let .invalidValue(_, context) = encodingError {
        return .nonFiniteNumber(path: renderCodingPath(context.codingPath))
    }
    return .malformedJSON(path: "", detail: "encoding failed: \(error)")
}
