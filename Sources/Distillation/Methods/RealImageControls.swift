import Autodiff
import Datasets
import Formats

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
