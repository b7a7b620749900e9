import Specs

/// The `ncfm:` section of a spec with `method: ncfm` (NeuralCharacteristicFunction.swift).
/// The embedding networks are the `victims_per_iteration` victims sampled each iteration;
/// the images learn at `optimizer.learning_rate`, the frequency sampler at its own rate.
public struct NCFMOptions: Codable, Sendable, Equatable, StrictlyDecodable {
    /// Frequencies t_j drawn per iteration (rows of the [J, D] frequency matrix).
    public var frequencies: Int = 256
    /// Adam learning rate of the sampler's shift and log-scale (gradient ascent).
    public var samplerLearningRate: Float = 0.01
    /// The sampler's starting scale: t ~ N(0, scale²·I) before it learns. The embeddings of
    /// a LeNet have norms of a few units, so t·f(x) then spans a few radians.
    public var frequencyScale: Float = 1
    /// Weight of the amplitude difference (|φ_x| − |φ_x̃|)² in the discrepancy.
    public var amplitudeWeight: Float = 0.5
    /// Weight of the phase difference 2|φ_x||φ_x̃|(1 − cos(a_x − a_x̃)) in the discrepancy.
    public var phaseWeight: Float = 0.5

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case frequencies, samplerLearningRate = "sampler_learning_rate", frequencyScale = "frequency_scale"
        case amplitudeWeight = "amplitude_weight", phaseWeight = "phase_weight"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var o = NCFMOptions()
        o.frequencies = try c.value(.frequencies, or: o.frequencies)
        o.samplerLearningRate = try c.value(.samplerLearningRate, or: o.samplerLearningRate)
        o.frequencyScale = try c.value(.frequencyScale, or: o.frequencyScale)
        o.amplitudeWeight = try c.value(.amplitudeWeight, or: o.amplitudeWeight)
        o.phaseWeight = try c.value(.phaseWeight, or: o.phaseWeight)
        self = o
    }

    /// The first invalid value, named by its key.
    var problem: String? {
        if !(1...AttackLimits.frequencies).contains(frequencies) {
            return "ncfm.frequencies must be 1…\(AttackLimits.frequencies) (got \(frequencies))"
        }
        if !(samplerLearningRate >= 0 && samplerLearningRate.isFinite) {
            return "ncfm.sampler_learning_rate must be zero (a fixed sampler) or positive and finite (got \(samplerLearningRate))"
        }
        if !(frequencyScale > 0 && frequencyScale.isFinite) {
            return "ncfm.frequency_scale must be positive and finite (got \(frequencyScale))"
        }
        let weights = [("amplitude_weight", amplitudeWeight), ("phase_weight", phaseWeight)]
        if let (key, value) = weights.first(where: { !($0.1 >= 0 && $0.1.isFinite) }) {
            return "ncfm.\(key) must be zero or positive and finite (got \(value))"
        }
        if amplitudeWeight + phaseWeight == 0 { return "ncfm.amplitude_weight and ncfm.phase_weight cannot both be 0: nothing would be matched" }
        return nil
    }
}
