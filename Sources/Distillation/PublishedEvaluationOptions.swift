import Specs

/// How `amnesia distill` scores a distilled set (`evaluation:`).
public enum DistillEvaluation: String, SpecChoice, Sendable {
    /// The setting's own networks take the distilled steps (`epochs` gradient steps with
    /// the learned or fitted step sizes), as Dataset Distillation scores its data.
    case steps
    /// As `steps`, then the DC/DSA/DM papers' protocol besides: fresh ConvNet-3 networks
    /// trained to convergence on the distilled set and on the real-image controls
    /// (`published_evaluation:`), so the numbers compare with the papers' tables.
    case published
}

/// The `published_evaluation:` section (`evaluation: published`): the DC/DSA/DM reference
/// code's `evaluate_synset` — SGD with momentum 0.9 and weight decay 5·10⁻⁴ at rate 0.01,
/// cut tenfold after half the epochs, batches of 256 — on ConvNet networks
/// (conv 3×3, instance norm, ReLU, average pooling). DC trains 300 epochs without
/// augmentation on Fashion-MNIST; DSA and DM train 1,000 with DSA augmentation.
public struct PublishedEvaluationOptions: Codable, Sendable, Equatable, StrictlyDecodable {
    /// Fresh initializations trained on the set (seeds from the spec's seed, recorded).
    public var networks: Int = 5
    public var epochs: Int = 300
    /// DSA augmentation (shift, scale, rotation, flip) of every training batch.
    public var dsa: Bool = false
    /// ConvNet width and depth: the papers' ConvNet-3 is 128 × 3.
    public var width: Int = 128
    public var depth: Int = 3
    /// Score the random-real, k-means and class-mean controls under the same protocol
    /// (they do not depend on the method: one run per images-per-class suffices).
    public var controls: Bool = true
    /// Iterations at which the distilling run keeps a snapshot of its set
    /// (`snapshots/iteration-NNNNNN.safetensors`, 0 = the starting set), each scored under
    /// the protocol beside the final set: the learning curve that says how far a longer
    /// run would go when the papers' budget is out of reach.
    public var curve: [Int] = []
    /// Where to extrapolate that curve to (the paper's iteration count): a least-squares
    /// line of mean accuracy on ln(iteration), reported as extrapolated, never as measured.
    public var extrapolateTo: Int?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case networks, epochs, dsa, width, depth, controls, curve, extrapolateTo = "extrapolate_to"
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(for: Self.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var o = PublishedEvaluationOptions()
        o.networks = try c.value(.networks, or: o.networks)
        o.epochs = try c.value(.epochs, or: o.epochs)
        o.dsa = try c.value(.dsa, or: o.dsa)
        o.width = try c.value(.width, or: o.width)
        o.depth = try c.value(.depth, or: o.depth)
        o.controls = try c.value(.controls, or: o.controls)
        o.curve = try c.value(.curve, or: o.curve)
        o.extrapolateTo = try c.decodeIfPresent(Int.self, forKey: .extrapolateTo)
        self = o
    }

    /// The largest values accepted: far above the papers' protocol.
    public static let maxNetworks = 100, maxEpochs = 100_000, maxWidth = 1024, maxDepth = 5

    /// The first invalid value, named by its key; `iterations` is the spec's budget, which
    /// bounds the curve and the extrapolation.
    func problem(iterations: Int) -> String? {
        let ranges = [("networks", networks, Self.maxNetworks), ("epochs", epochs, Self.maxEpochs),
                      ("width", width, Self.maxWidth), ("depth", depth, Self.maxDepth)]
        if let (key, value, limit) = ranges.first(where: { !(1...$0.2).contains($0.1) }) {
            return "published_evaluation.\(key) must be 1…\(limit) (got \(value))"
        }
        if let bad = curve.first(where: { !(0..<iterations).contains($0) }) {
            return "published_evaluation.curve: \(bad) is not an iteration before the last (0…\(iterations - 1)); the final set is always scored"
        }
        if curve != curve.sorted() || Set(curve).count != curve.count {
            return "published_evaluation.curve must list increasing iterations, each once (got \(curve))"
        }
        if let target = extrapolateTo {
            if target <= iterations {
                return "published_evaluation.extrapolate_to must be beyond the run's \(iterations) iterations (got \(target)): up to there the curve is measured"
            }
            if !curve.contains(where: { $0 >= 1 }) {
                return "published_evaluation.extrapolate_to needs a curve point at iteration 1 or later besides the final set (a line needs two points on ln(iteration))"
            }
        }
        return nil
    }
}
