/// A name that becomes one path component (a zoo's folder, a run's folder, a weights
/// file): checked at every boundary where a spec, a command line or a manifest supplies
/// it, so no value can make Amnesia write or read outside the folder it was given.
public enum SafeName {
    /// Longest name accepted: well under every file system's component limit (255 bytes),
    /// leaving room for the suffixes Amnesia adds (`-<hash>`, `.safetensors`).
    public static let maxLength = 128

    private static let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".unicodeScalars)

    /// Why `value` is not one safe path component, or nil when it is: non-empty, at most
    /// `maxLength` characters of letters, digits, `-`, `_` and `.`, not starting with a
    /// dot (which also rules out `.` and `..` and hidden files).
    public static func problem(_ value: String) -> String? {
        if value.isEmpty { return "is empty" }
        if value.count > maxLength { return "is longer than \(maxLength) characters" }
        if value.hasPrefix(".") { return "starts with '.' (no '.', '..' or hidden names)" }
        if let bad = value.unicodeScalars.first(where: { !allowed.contains($0) }) {
            let shown = bad.value <= 0x20 || bad.value == 0x7F ? "U+" + String(bad.value, radix: 16, uppercase: true) : "'\(bad)'"
            return "contains \(shown); use only letters, digits, '-', '_' and '.'"
        }
        return nil
    }

    /// `value` with every character `problem` refuses replaced by `_`, cut to `length`
    /// characters: a safe component made from a name Amnesia did not choose (an imported
    /// file's name). Callers add a safe prefix, so a leading dot is harmless there.
    public static func sanitized(_ value: String, length: Int = 64) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.prefix(length).map { allowed.contains($0) ? $0 : "_" }))
    }

    /// The message for `value` under `key` (naming the value, escaped, and the rule), or
    /// nil when it is one safe path component.
    public static func describe(_ value: String, key: String) -> String? {
        problem(value).map { "\(key) '\(excerpt(value))' \($0): it names a single folder or file" }
    }

    /// `value` escaped and cut to `limit` characters (with its length when cut), so an
    /// error message never echoes a huge or unprintable value whole.
    public static func excerpt(_ value: String, limit: Int = 80) -> String {
        let escaped = value.prefix(limit).debugDescription.dropFirst().dropLast()
        return value.count > limit ? "\(escaped)… (\(value.count) characters)" : String(escaped)
    }

    /// Throws a `SpecError` naming `file`, `key`, the value and the rule when `value` is
    /// not one safe path component.
    public static func check(_ value: String, key: String, file: String) throws(SpecError) {
        if let message = describe(value, key: key) { throw SpecError(file: file, message) }
    }
}
