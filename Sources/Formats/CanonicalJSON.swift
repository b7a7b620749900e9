import Foundation

/// JSON whose bytes depend only on the value: keys sorted, so the same value encodes to
/// the same bytes in every process, and a cache key, a hash or a diff of two runs' files
/// compares values rather than dictionary order.
public enum CanonicalJSON {
    /// `pretty`: indented, for files people read (manifests, records, exports).
    public static func encode(_ value: some Encodable, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return try encoder.encode(value)
    }

    /// `encode(value)` as text.
    public static func string(_ value: some Encodable, pretty: Bool = false) throws -> String {
        String(decoding: try encode(value, pretty: pretty), as: UTF8.self)
    }
}
