import Autodiff
import Datasets
import Formats
import Poisoning

/// The state of a method that needs no optimization: nothing to save or resume.
public struct NoState: MethodState {
    public init() {}
    public var iteration: Int { 0 }
    public var lastLoss: Float? { nil }
    public var currentStepSizes: [Float] { [] }
    public func save(into file: inout SafeTensors) throws {}
    public mutating func restore(from file: SafeTensors, source: String) throws {}
}

/// Controls that answer "is the crafted data better than the obvious thing?": real
/// training images labelled as the objective wants (class K as T for the attack), one
/// step of size 1 that the evaluator replaces by one chosen on crafting victims.
public protocol RealImageControl: DistillationMethod where State == NoState {
    var context: CraftingContext { get }
    /// The control's images and their real labels.
    func images() -> (images: Tensor, labels: [Int])
}

extension RealImageControl {
    public var iterations: Int { 0 }
    public func initialState() -> NoState { NoState() }
    public func iterate(_ state: inout NoState, workers: Int) {}

    public func poisonSet(_ state: NoState) -> PoisonSet {
        let (images, labels) = images()
        var metadata = context.metadata
        metadata.objective = "baseline"
        return PoisonSet(images: images, labels: labels.map(context.objective.wantedLabel), stepSizes: [1],
                         steps: 1, epochs: 1, metadata: metadata)
    }
}

/// `perClass` random training images of every class.
public struct RandomRealImages: RealImageControl {
    public let context: CraftingContext
    public let perClass: Int
    public let seed: UInt64

    public init(context: CraftingContext, perClass: Int, seed: UInt64) {
        (self.context, self.perClass, self.seed) = (context, perClass, seed)
    }

    public func images() -> (images: Tensor, labels: [Int]) {
        var rng = SeededGenerator(seed: seed)
        let train = context.data.train
        let picks = train.indicesByClass().flatMap { $0.shuffled(using: &rng).prefix(perClass) }
        return (train.batch(picks), picks.map { train.labels[$0] })
    }
}

/// The mean training image of every class.
public struct ClassMeanImages: RealImageControl {
    public let context: CraftingContext

    public init(context: CraftingContext) { self.context = context }

    public func images() -> (images: Tensor, labels: [Int]) {
        let train = context.data.train
        let byClass = train.indicesByClass(), size = train.imageSize
        let means = Tensor(shape: [byClass.count, train.channels, train.height, train.width]) { out in
            out.initialize(repeating: 0)
            for (c, indices) in byClass.enumerated() {
                for i in indices {
                    for j in 0..<size { out[c * size + j] += train.pixels[i * size + j] }
                }
                for j in 0..<size { out[c * size + j] /= Float(max(indices.count, 1)) }
            }
        }
        return (means, Array(byClass.indices))
    }
}

/// `perClass` k-means centroids of every class's training images (Lloyd's algorithm from
/// `perClass` distinct random images of the class, `rounds` rounds): the paper's strongest
/// real-image baseline, images that summarize each class rather than sample it.
public struct KMeansCentroids: RealImageControl {
    public let context: CraftingContext
    public let perClass: Int
    public let seed: UInt64
    public let rounds: Int

    public init(context: CraftingContext, perClass: Int, seed: UInt64, rounds: Int = 10) {
        (self.context, self.perClass, self.seed, self.rounds) = (context, perClass, seed, rounds)
    }

    public func images() -> (images: Tensor, labels: [Int]) {
        var rng = SeededGenerator(seed: seed)
        let train = context.data.train, size = train.imageSize
        let byClass = train.indicesByClass().filter { !$0.isEmpty }
        var pixels: [Float] = [], labels: [Int] = []
        for indices in byClass {
            let points = Tensor(shape: [indices.count, size], scalars: indices.flatMap { train.image(at: $0) })
            let starts = Array(indices.indices.shuffled(using: &rng).prefix(perClass))
            pixels += Self.centroids(of: points, starting: starts, rounds: rounds)
            labels += [Int](repeating: train.labels[indices[0]], count: starts.count)
        }
        return (Tensor(shape: [labels.count, train.channels, train.height, train.width], scalars: pixels), labels)
    }

    /// Lloyd's algorithm on the rows of `points` [n, d] from the rows `starts`; a cluster
    /// left empty keeps its centroid. Returns the k centroids' values, row after row.
    public static func centroids(of points: Tensor, starting starts: [Int], rounds: Int) -> [Float] {
        let (n, d) = (points.shape[0], points.shape[1])
        let x = points.scalars
        var c = starts.flatMap { x[($0 * d)..<(($0 + 1) * d)] }
        let k = starts.count
        for _ in 0..<rounds {
            // ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖²: the nearest c minimizes ‖c‖² − 2 x·c (products in one BLAS call).
            let products = GradientMode.withoutRecording { matmul(points, Tensor(shape: [k, d], scalars: c), transposeB: true) }.scalars
            let centroidNorms = (0..<k).map { j in (0..<d).reduce(Float(0)) { $0 + c[j * d + $1] * c[j * d + $1] } }
            var sums = [Float](repeating: 0, count: k * d), counts = [Int](repeating: 0, count: k)
            for i in 0..<n {
                let nearest = (0..<k).min { a, b in
                    centroidNorms[a] - 2 * products[i * k + a] < centroidNorms[b] - 2 * products[i * k + b]
                }!
                counts[nearest] += 1
                for j in 0..<d { sums[nearest * d + j] += x[i * d + j] }
            }
            for j in 0..<k where counts[j] > 0 {
                for t in 0..<d { c[j * d + t] = sums[j * d + t] / Float(counts[j]) }
            }
        }
        return c
    }
}
