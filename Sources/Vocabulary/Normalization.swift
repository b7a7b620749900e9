/// Per-channel standardization `(x - mean[c]) / std[c]`.
///
/// Fitted on the training split only (fitting on test data would leak information into
/// the evaluation) and `Codable` so the exact statistics can be saved with a model and
/// reused when crafting or evaluating poisons.
public struct Normalization: Sendable, Equatable, Codable {
    /// Per-channel mean of the raw [0, 1] values.
    public var mean: [Float]
    /// Per-channel standard deviation (never below `minimumStd`).
    public var std: [Float]

    /// Floor for `std`, so a constant channel (e.g. a blank synthetic channel) does not
    /// cause a division by zero.
    public static let minimumStd: Float = 1e-6

    /// Creates a normalization from explicit statistics (e.g. published ones).
    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std.map { Swift.max($0, Normalization.minimumStd) }
    }

    private enum CodingKeys: String, CodingKey { case mean, std }

    /// Decodes saved statistics, rejecting mismatched, non-finite or non-positive values so
    /// an edited file cannot silently produce NaN inputs (or a std floored to `minimumStd`).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let mean = try container.decode([Float].self, forKey: .mean)
        let std = try container.decode([Float].self, forKey: .std)
        guard mean.count == std.count, !mean.isEmpty, (mean + std).allSatisfy(\.isFinite), std.allSatisfy({ $0 > 0 }) else {
            throw DecodingError.dataCorruptedError(forKey: .std, in: container,
                debugDescription: "normalization needs one finite mean and one finite std > 0 per channel (got mean \(mean.prefix(8)), std \(std.prefix(8))); re-fit it on the training split")
        }
        self.init(mean: mean, std: std)
    }

    /// Number of channels this normalization applies to.
    public var channels: Int { mean.count }
}
