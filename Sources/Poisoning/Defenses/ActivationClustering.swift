import Autodiff
import Specs

/// `clustering: {clean: B, max_share: S}`: activation clustering on the mix of the poison
/// and B clean images. Adaptive form: as spectral signatures', the crafter steps on the mix
/// and the outer loss gains the feature-statistics penalty (`featureStatisticsPenalty`).
public struct ClusteringDefense: Defense, AdaptiveDefense {
    public static let name = "clustering"
    public static let form = "clustering:clean=B,max_share=S"
    public let clean: Int
    public let maxShare: Float

    public init(clean: Int, maxShare: Float) { (self.clean, self.maxShare) = (clean, maxShare) }

    public init(parameters: DefenseParameters) throws(SpecError) {
        let v = try parameters.take(["clean", "max_share"], form: Self.form)
        guard v[1] <= 0.5 else { throw parameters.fail("max_share must be at most 0.5 (got \(v[1])): it bounds the smaller of two clusters") }
        (clean, maxShare) = (try parameters.cleanCount(v[0]), Float(v[1]))
    }

    public var parameters: [String: Float] { ["clean": Float(clean), "max_share": maxShare] }
    public func update(in environment: DefenseEnvironment) -> any VictimUpdate {
        FeatureScreening(detector: ActivationClustering(maxShare: maxShare, clean: clean),
                         mix: Dilution(count: clean, train: environment.train, seed: environment.seed))
    }
    public var adaptive: (any AdaptiveDefense)? { self }
    public var cleanImages: Int { clean }
    public func penalty(_ scene: PenaltyScene) -> Tensor? { featureStatisticsPenalty(scene) }
}

extension DefenseSpec {
    /// Activation clustering on the mix: per label, 2-means on the principal components of
    /// the penultimate features; the smaller cluster is dropped when it holds at most
    /// `maxShare` of the label.
    public static func clustering(clean: Int, maxShare: Float) -> DefenseSpec {
        DefenseSpec(ClusteringDefense(clean: clean, maxShare: maxShare))
    }
}


/// Activation clustering (Chen et al., 2018): within one label, clean images and poison
/// that plays a different role fall into two groups of penultimate activations. The
/// features are reduced to their `dimensions` principal components, split by 2-means, and
/// the smaller cluster is flagged when it holds at most `maxShare` of the label's images
/// (a label without poison splits into two large halves, and nothing is flagged).
public struct ActivationClustering: FeatureDetector {
    public let maxShare: Float
    public let clean: Int
    public let dimensions: Int

    public init(maxShare: Float, clean: Int, dimensions: Int = 10) {
        (self.maxShare, self.clean, self.dimensions) = (maxShare, clean, dimensions)
    }

    public var spec: DefenseSpec { .clustering(clean: clean, maxShare: maxShare) }
    public var summary: String {
        "Activation clustering: per label, penultimate features reduced to \(dimensions) principal components and split by 2-means; the smaller cluster is flagged when it holds at most \(Int((maxShare * 100).rounded()))% of the label."
    }

    public func flagged(_ features: [[Double]]) -> [Int] {
        guard features.count > 2 else { return [] }
        let centered = PrincipalDirections.centered(features)
        let axes = PrincipalDirections.top(dimensions, of: centered)
        guard !axes.isEmpty else { return [] }
        let points = centered.map { row in axes.map { PrincipalDirections.dot(row, $0) } }
        let inSecond = Self.twoMeans(points)
        let second = inSecond.filter { $0 }.count
        let smallerIsSecond = second <= points.count - second
        let smaller = smallerIsSecond ? second : points.count - second
        guard smaller > 0, Float(smaller) <= maxShare * Float(points.count) else { return [] }
        return points.indices.filter { inSecond[$0] == smallerIsSecond }
    }

    /// Lloyd's 2-means from a deterministic start: the point farthest from the centre, and
    /// the point farthest from that one. True marks the second cluster.
    static func twoMeans(_ points: [[Double]], iterations: Int = 100) -> [Bool] {
        func distance(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
        let origin = [Double](repeating: 0, count: points[0].count)
        let first = points.indices.max { distance(points[$0], origin) < distance(points[$1], origin) }!
        let second = points.indices.max { distance(points[$0], points[first]) < distance(points[$1], points[first]) }!
        var centres = (points[second], points[first])
        var assignment = [Bool](repeating: false, count: points.count)
        for iteration in 0..<iterations {
            let next = points.map { distance($0, centres.1) < distance($0, centres.0) }
            if iteration > 0 && next == assignment { break }
            assignment = next
            func mean(_ member: Bool) -> [Double]? {
                let group = points.indices.filter { assignment[$0] == member }
                guard !group.isEmpty else { return nil }
                return origin.indices.map { j in group.reduce(0) { $0 + points[$1][j] } / Double(group.count) }
            }
            centres = (mean(false) ?? centres.0, mean(true) ?? centres.1)
        }
        return assignment
    }
}
