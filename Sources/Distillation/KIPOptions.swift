import Specs

/// The `kip:` section of a spec with `method: kip` (KernelInducingPoints.swift). The
/// kernel's networks are the `victims_per_iteration` victims sampled each iteration, the
/// labels are learned when `learn_labels` is set (Adam at `optimizer.label_learning_rate`).
public struct KIPOptions: Codable, Sendable, Equatable, StrictlyDecodable {
    /// Ridge λ relative to the kernel's scale: the solve uses K_ss + λ·(tr K_ss / n)·I, so
    /// the same value means the same smoothing whatever the features' magnitude.
    public var regularization: Float = 0.01
    /// Replace the support labels every iteration by the closed form that minimizes the
    /// loss on that iteration's real batch (KIP's label solve) instead of learning them.
    public var labelSolve: Bool = false

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case regularization, labelSolve = "label_solve"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var o = KIPOptions()
        o.regularization = try c.value(.regularization, or: o.regularization)
        o.labelSolve = try c.value(.labelSolve, or: o.labelSolve)
        self = o
    }

    /// The first invalid value, named by its key.
    var problem: String? {
        if !(regularization > 0 && regularization.isFinite) {
            return "kip.regularization must be positive and finite (got \(regularization)): the solve needs K_ss + λI positive definite"
        }
        return nil
    }
}
