import Autodiff
import Specs

/// `spectral: {clean: B, fraction: F}`: spectral signatures on the mix of the poison and B
/// clean images. Adaptive form: the detector is not differentiable, so the crafter steps on
/// the mix it screens and the outer loss gains the feature-statistics penalty
/// (`featureStatisticsPenalty`) that keeps each label's poison features at the clean class's
/// first two moments, which is what the detector tests.
public struct SpectralDefense: Defense, AdaptiveDefense {
    public static let name = "spectral"
    public static let form = "spectral:clean=B,fraction=F"
    public let clean: Int
    public let fraction: Float

    public init(clean: Int, fraction: Float) { (self.clean, self.fraction) = (clean, fraction) }

    public init(parameters: DefenseParameters) throws(SpecError) {
        let v = try parameters.take(["clean", "fraction"], form: Self.form)
        (clean, fraction) = (try parameters.cleanCount(v[0]), try parameters.dropFraction(v[1]))
    }

    public var parameters: [String: Float] { ["clean": Float(clean), "fraction": fraction] }
    public func update(in environment: DefenseEnvironment) -> any VictimUpdate {
        FeatureScreening(detector: SpectralSignatures(fraction: fraction, clean: clean),
                         mix: Dilution(count: clean, train: environment.train, seed: environment.seed))
    }
    public var adaptive: (any AdaptiveDefense)? { self }
    public var cleanImages: Int { clean }
    public func penalty(_ scene: PenaltyScene) -> Tensor? { featureStatisticsPenalty(scene) }
}

extension DefenseSpec {
    /// Spectral signatures on the mix of the poison and `clean` clean images: per label, the
    /// `fraction` with the largest projection on the top singular vector of the penultimate
    /// features is dropped before the step.
    public static func spectral(clean: Int, fraction: Float) -> DefenseSpec {
        DefenseSpec(SpectralDefense(clean: clean, fraction: fraction))
    }
}

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
