import Foundation

/// A report file with a versioned schema (`report.json`, `audit.json`): one way to write it
/// and one way to read it back, refusing any schema but the one this build writes.
public protocol VersionedReport: Codable {
    /// The schema id this build writes and reads. Bump it on any incompatible change.
    static var schemaID: String { get }
}

extension VersionedReport {
    /// Decodes the JSON, refusing any schema other than `schemaID`.
    /// - Throws: `ReportError.unsupportedSchema` or `ReportError.malformedJSON` with the JSON path.
    public init(jsonData: Data) throws {
        try checkSchema(jsonData, expected: Self.schemaID)
        do {
            self = try JSONDecoder().decode(Self.self, from: jsonData)
        } catch {
            throw wrapDecodingError(error)
        }
    }

    /// Pretty-printed JSON with sorted keys (stable diffs between runs).
    /// - Throws: `ReportError.nonFiniteNumber` naming the path of a NaN or infinity.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(self)
        } catch {
            throw wrapEncodingError(error)
        }
    }
}

/// Reads only the `schema` field, so a wrong schema is reported as such rather than as
/// whatever field happens to be missing first.
private struct SchemaProbe: Decodable {
    var schema: String?
}

private func checkSchema(_ data: Data, expected: String) throws {
    let probe: SchemaProbe
    do {
        probe = try JSONDecoder().decode(SchemaProbe.self, from: data)
    } catch {
        throw wrapDecodingError(error)
    }
    guard probe.schema == expected else {
        throw ReportError.unsupportedSchema(found: probe.schema, expected: expected)
    }
}
