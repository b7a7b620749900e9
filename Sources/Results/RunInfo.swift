import Foundation

/// Identity and provenance of one run: enough to find, date and reproduce it.
public struct RunInfo: Codable, Equatable, Sendable {
    /// Run name; carries a short hash of the resolved config (same config, same name).
    public var name: String
    /// Creation time as an ISO-8601 string (see `RunInfo.timestamp(_:)`).
    public var created: String
    /// Version of amnesia that produced the run.
    public var amnesiaVersion: String
    /// Master seed from which every random draw of the run derives.
    public var seed: UInt64
    /// Wall-clock seconds per phase (e.g. "craft", "evaluate").
    public var timingsSeconds: [String: Double]

    enum CodingKeys: String, CodingKey {
        case name, created
        case amnesiaVersion = "amnesia_version"
        case seed
        case timingsSeconds = "timings_seconds"
    }

    /// Memberwise initializer.
    public init(name: String, created: String, amnesiaVersion: String, seed: UInt64,
                timingsSeconds: [String: Double] = [:]) {
        self.name = name
        self.created = created
        self.amnesiaVersion = amnesiaVersion
        self.seed = seed
        self.timingsSeconds = timingsSeconds
    }

    /// Formats `date` as ISO-8601 in UTC (e.g. "2025-01-31T12:00:00Z"), the format of `created`.
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
