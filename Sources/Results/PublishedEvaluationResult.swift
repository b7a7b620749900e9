import Foundation

/// A distilled set and its real-image controls under the DC/DSA/DM papers' evaluation
/// protocol (`evaluation: published`): test accuracy of fresh networks trained on each set
/// to convergence, one entry per network seed, in `seeds` order.
public struct PublishedEvaluationResult: Codable, Equatable, Sendable {
    /// The protocol in one sentence (network, epochs, optimizer, augmentation); the
    /// networks are `seeds`, so the sentence (part of each saved score's key) leaves out their count.
    public var recipe: String
    public var seeds: [UInt64]
    public var distilled: [Double]
    /// By control key (`random_real`, `kmeans`, `class_means`); empty when not run.
    public var controls: [String: [Double]]
    /// The learning curve: the run's snapshots scored under the same protocol, then the
    /// final set, by iteration; empty when the spec asked for no curve.
    public var curve: [CurvePoint]
    /// The curve carried to the paper's budget; nil when not asked for.
    public var extrapolation: Extrapolation?
    public var seconds: Double

    /// One snapshot's accuracies (one per network seed).
    public struct CurvePoint: Codable, Equatable, Sendable {
        public var iteration: Int
        public var accuracies: [Double]
        public init(iteration: Int, accuracies: [Double]) { (self.iteration, self.accuracies) = (iteration, accuracies) }
        public var summary: Stat { Stat(accuracies) }
    }

    /// Mean accuracy = intercept + slope · ln(iteration), fitted by least squares to the
    /// curve's points from iteration 1 on, and its value at `iterations`. Distillation curves
    /// flatten, so a straight line on log-iterations is a trend, not a promise: it is
    /// labelled extrapolated wherever it is shown.
    public struct Extrapolation: Codable, Equatable, Sendable {
        public var iterations: Int
        public var accuracy: Double
        public var intercept: Double
        public var slope: Double
        /// The iterations the line was fitted to.
        public var fittedTo: [Int]

        enum CodingKeys: String, CodingKey { case iterations, accuracy, intercept, slope, fittedTo = "fitted_to" }

        /// The line through `curve`'s points at iteration ≥ 1, evaluated at `iterations`;
        /// nil with fewer than two such points.
        public init?(curve: [CurvePoint], to iterations: Int) {
            let points = curve.filter { $0.iteration >= 1 && !$0.accuracies.isEmpty }
            guard points.count >= 2 else { return nil }
            let x = points.map { Foundation.log(Double($0.iteration)) }, y = points.map { $0.summary.mean }
            let n = Double(points.count), mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
            let sxx = x.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
            let sxy = zip(x, y).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
            slope = sxy / sxx
            intercept = my - slope * mx
            accuracy = intercept + slope * Foundation.log(Double(iterations))
            self.iterations = iterations
            fittedTo = points.map(\.iteration)
        }
    }

    enum CodingKeys: String, CodingKey { case recipe, seeds, distilled, controls, curve, extrapolation, seconds }

    public init(recipe: String, seeds: [UInt64], distilled: [Double], controls: [String: [Double]],
                curve: [CurvePoint] = [], extrapolation: Extrapolation? = nil, seconds: Double) {
        (self.recipe, self.seeds, self.distilled, self.controls) = (recipe, seeds, distilled, controls)
        (self.curve, self.extrapolation, self.seconds) = (curve, extrapolation, seconds)
    }

    /// Reports written before the curve existed have none.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        recipe = try c.decode(String.self, forKey: .recipe)
        seeds = try c.decode([UInt64].self, forKey: .seeds)
        distilled = try c.decode([Double].self, forKey: .distilled)
        controls = try c.decode([String: [Double]].self, forKey: .controls)
        curve = try c.decodeIfPresent([CurvePoint].self, forKey: .curve) ?? []
        extrapolation = try c.decodeIfPresent(Extrapolation.self, forKey: .extrapolation)
        seconds = try c.decode(Double.self, forKey: .seconds)
    }

    /// Mean ± std (population, as every other summary) of each set's accuracies.
    public var distilledSummary: Stat { Stat(distilled) }
    public var controlSummaries: [String: Stat] { controls.mapValues(Stat.init) }
}
