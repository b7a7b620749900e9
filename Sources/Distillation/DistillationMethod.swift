import Autodiff
import Datasets
import Formats
import Foundation
import Networks
import Poisoning

/// Anything that produces a poison (or distilled) set: the seeds' unrolled steps, the
/// matching methods that followed them, and the real-image controls (which need no
/// optimization). The crafting loop (`Crafting.run`) drives any conformer the same way,
/// with checkpoints, resume and progress, so a new method is one new file in `Methods/`.
public protocol DistillationMethod: Sendable {
    associatedtype State: MethodState
    /// Outer iterations to run (0 for methods that need none).
    var iterations: Int { get }
    /// Where the optimization starts, drawn from the method's seed.
    func initialState() -> State
    /// One outer iteration; its randomness must come from (seed, iteration) so that a
    /// resumed run repeats exactly.
    func iterate(_ state: inout State, workers: Int)
    /// The poison set `state` stands for.
    func poisonSet(_ state: State) -> PoisonSet
}

/// A method's optimization state: what a checkpoint must hold to resume exactly.
public protocol MethodState: Sendable {
    /// Iterations completed.
    var iteration: Int { get }
    /// The outer loss of the last iteration, for progress displays.
    var lastLoss: Float? { get }
    /// The step sizes the state currently stands for, for progress displays.
    var currentStepSizes: [Float] { get }
    /// Adds everything needed to resume to `file` (tensors and metadata).
    func save(into file: inout SafeTensors) throws
    /// Restores what `save` wrote, onto `self` (a fresh state giving the shapes).
    mutating func restore(from file: SafeTensors, source: String) throws
}

/// What every method crafts with: the victims' network, the prepared data, the victims
/// the attacker may use, and the objective.
public struct CraftingContext: Sendable {
    public let classifier: any Classifier
    public let data: PreparedData
    /// The crafting victims' parameters (with fixed knowledge, just the known victim).
    public let victims: [[Tensor]]
    public let objective: any Objective
    /// The poison's class names and normalization, and the zoo's architecture.
    public let metadata: PoisonSet.Metadata
    /// A folder where a method keeps what it computes from the victims and data alone, for
    /// later runs to reuse (a run's zoo folder; nil: nothing is kept).
    public var cache: URL?

    public init(classifier: any Classifier, data: PreparedData, victims: [[Tensor]], objective: any Objective,
                metadata: PoisonSet.Metadata) {
        (self.classifier, self.data, self.victims, self.objective, self.metadata) = (classifier, data, victims, objective, metadata)
    }

    public var classes: Int { data.info.numClasses }
}
