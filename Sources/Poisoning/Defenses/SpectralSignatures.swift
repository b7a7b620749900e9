
/// Spectral signatures (Tran, Li and Mądry, 2018): within one label, poison that pulls the
/// model one way leaves a trace along the top singular vector of the centered features.
/// Each image is scored by its squared projection on that vector and the `fraction` of
/// the label's images with the highest scores are flagged.
public struct SpectralSignatures: FeatureDetector {
    public let fraction: Float
    /// Clean images the poison is mixed with (part of the defense's key).
    public let clean: Int

    public init(fraction: Float, clean: Int) { (self.fraction, self.clean) = (fraction, clean) }

    public var spec: DefenseSpec { .spectral(clean: clean, fraction: fraction) }
    public var summary: String {
        "Spectral signatures: per label, the \(Int((fraction * 100).rounded()))% of images with the largest squared projection on the top singular vector of the centered penultimate features are flagged."
    }

    public func flagged(_ features: [[Double]]) -> [Int] {
        let count = Int((Float(features.count) * fraction).rounded())
        guard features.count > 1, count > 0 else { return [] }
        let centered = PrincipalDirections.centered(features)
        guard let top = PrincipalDirections.top(1, of: centered).first else { return [] }
        let scores = centered.map { PrincipalDirections.dot($0, top) * PrincipalDirections.dot($0, top) }
        return Array(scores.indices.sorted { scores[$0] > scores[$1] }.prefix(count))
    }
}
