import Foundation
import Vocabulary

/// How an image folder's files become a network's input, recorded in the zoo spec
/// (`images:`) so every later run (audit, evaluate, craft) loads the images the same way.
/// All fields are optional; none set is the folder as it is (one size, no conversion).
///
/// Order of operations, as torchvision's `ImageFolder` with `Resize` + `CenterCrop` +
/// `ToTensor` (+ `Normalize`) does it: decode (EXIF orientation applied), convert channels,
/// resize, center-crop, scale to [0, 1], normalize.
public struct ImageOptions: Codable, Sendable, Equatable {
    /// `WxH` (exactly that size) or `N` (the shorter side becomes N, the longer keeps the
    /// aspect ratio, truncated: torchvision's `Resize(N)`).
    public var resize: String?
    /// `WxH`: the center of each image, offsets rounded as torchvision's `CenterCrop`
    /// (half-way ties to even); an image smaller than the crop is padded with black.
    public var centerCrop: String?
    /// `gray` or `rgb` (nil: RGB when any image has colour, else gray).
    public var channels: String?
    /// Normalization given per channel instead of fitted on the training split.
    public var mean: [Float]?
    public var std: [Float]?
    /// For a folder of class folders without train/ and test/: the fraction of each class
    /// held out as the test split, chosen by a shuffle seeded with `splitSeed`.
    public var split: Double?
    public var splitSeed: UInt64?
    /// A file that does not decode is left out with a warning instead of stopping the load.
    public var skipBad: Bool?

    public init() {}

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case resize, centerCrop = "center_crop", channels, mean, std, split, splitSeed = "split_seed", skipBad = "skip_bad"
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes the options, refusing unknown keys and bad values with the key named.
    public init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        if let unknown = all.allKeys.first(where: { CodingKeys(stringValue: $0.stringValue) == nil }) {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [unknown], debugDescription:
                "unknown key '\(unknown.stringValue)' in images; allowed: \(CodingKeys.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        resize = try c.decodeIfPresent(String.self, forKey: .resize)
        centerCrop = try c.decodeIfPresent(String.self, forKey: .centerCrop)
        channels = try c.decodeIfPresent(String.self, forKey: .channels)
        mean = try c.decodeIfPresent([Float].self, forKey: .mean)
        std = try c.decodeIfPresent([Float].self, forKey: .std)
        split = try c.decodeIfPresent(Double.self, forKey: .split)
        splitSeed = try c.decodeIfPresent(UInt64.self, forKey: .splitSeed)
        skipBad = try c.decodeIfPresent(Bool.self, forKey: .skipBad)
        if let problem = problem() {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: problem))
        }
    }

    /// True when no option is set (the spec then leaves `images:` out).
    public var isEmpty: Bool { self == ImageOptions() }

    /// The first value that cannot work, as a sentence naming the option, or nil.
    public func problem() -> String? {
        if let resize, ImageOptions.resizeTarget(resize) == nil {
            return "resize '\(resize)' must be WxH (e.g. 32x32) or one number N (the shorter side), each 1…\(ImageOptions.maxSide)"
        }
        if let centerCrop, ImageOptions.size(centerCrop) == nil {
            return "center_crop '\(centerCrop)' must be WxH (e.g. 28x28), each 1…\(ImageOptions.maxSide)"
        }
        if let channels, !["gray", "rgb"].contains(channels) {
            return "channels '\(channels)' must be gray or rgb"
        }
        if (mean == nil) != (std == nil) {
            return "mean and std are given together (one value per channel), or neither (fitted on the training split)"
        }
        if let mean, let std {
            guard mean.count == std.count, [1, 3].contains(mean.count) else {
                return "mean (\(mean.count) values) and std (\(std.count) values) need one value per channel, 1 or 3"
            }
            if let expected = channels.map({ $0 == "gray" ? 1 : 3 }), expected != mean.count {
                return "mean and std have \(mean.count) values but channels is \(channels ?? "")"
            }
            guard mean.allSatisfy(\.isFinite), std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                return "mean must be finite and std positive and finite (got mean \(mean), std \(std))"
            }
        }
        if let split, !(split > 0 && split < 1) {
            return "split \(split) must be a fraction of each class in (0, 1), e.g. 0.2"
        }
        if splitSeed != nil, split == nil {
            return "split_seed is only used with split"
        }
        return nil
    }

    /// Largest side accepted for resize and crop targets.
    public static let maxSide = 4096

    /// A resize target: an exact size, or the shorter side's length.
    enum ResizeTarget: Equatable {
        case exact(width: Int, height: Int)
        case shorterSide(Int)
    }

    static func resizeTarget(_ text: String) -> ResizeTarget? {
        if let side = Int(text), (1...maxSide).contains(side) { return .shorterSide(side) }
        return size(text).map { .exact(width: $0.width, height: $0.height) }
    }

    /// `WxH` as numbers, each 1…`maxSide`.
    static func size(_ text: String) -> (width: Int, height: Int)? {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]),
              (1...maxSide).contains(w), (1...maxSide).contains(h) else { return nil }
        return (w, h)
    }

    /// The normalization the options give, if any.
    public var givenNormalization: Normalization? {
        guard let mean, let std else { return nil }
        return Normalization(mean: mean, std: std)
    }
}
