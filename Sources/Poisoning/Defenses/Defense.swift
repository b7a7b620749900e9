import Autodiff
import Datasets
import Networks
import Specs

/// A defense a victim deploys around the update it takes, in both forms the suite needs, side
/// by side in one file: the update the evaluator scores (`update(in:)`) and what the adaptive
/// crafter's differentiable inner step does in its place (`adaptive`). A new defense is one
/// file conforming to this protocol plus one line in `Defenses.builtIn` (or, from outside the
/// module, one call to `Defenses.register`).
public protocol Defense: Sendable {
    /// The name specs and `--defense` use, e.g. `gate`.
    static var name: String { get }
    /// `name:key=X,…` for messages and `--help`.
    static var form: String { get }
    /// The defense with `parameters`, each checked (`DefenseParameters` names what is wrong).
    init(parameters: DefenseParameters) throws(SpecError)
    /// Its parameters, as written in specs and reports.
    var parameters: [String: Float] { get }
    /// The evaluation form: how a victim deploying it takes a poison's update.
    func update(in environment: DefenseEnvironment) -> any VictimUpdate
    /// The adaptive form, or nil when the defense cannot be crafted through (a spec that
    /// lists it to craft against is refused).
    var adaptive: (any AdaptiveDefense)? { get }
}

/// What a defense's evaluation form may draw on: clean images the victim validates on (never
/// the test split), training images to mix in, and the seed of every random draw.
public struct DefenseEnvironment: Sendable {
    public let validation: LabeledImages
    public let train: LabeledImages
    public let seed: UInt64

    public init(validation: LabeledImages, train: LabeledImages, seed: UInt64) {
        (self.validation, self.train, self.seed) = (validation, train, seed)
    }
}

/// A defense's parameters as a spec or `--defense` gives them, read key by key: every key
/// must be taken, each value finite and ≥ 0.
public struct DefenseParameters: Sendable {
    public let name: String
    let values: [String: Double]

    public init(name: String, values: [String: Double]) { (self.name, self.values) = (name, values) }

    /// The error naming this defense.
    public func fail(_ message: String) -> SpecError { SpecError(file: "defense '\(name)'", message) }

    /// The values of `keys`, in that order; `form` goes into the message of a missing one.
    public func take(_ keys: [String], form: String) throws(SpecError) -> [Double] {
        if let unknown = values.keys.sorted().first(where: { !keys.contains($0) }) {
            throw fail("unknown parameter '\(unknown)'; it takes \(keys.joined(separator: ", "))")
        }
        var taken: [Double] = []
        for key in keys {
            guard let value = values[key] else { throw fail("needs \(key) (form: \(form))") }
            guard value.isFinite, value >= 0 else { throw fail("\(key) must be a finite number ≥ 0 (got \(value))") }
            taken.append(value)
        }
        return taken
    }

    /// A count of clean images.
    public func cleanCount(_ b: Double) throws(SpecError) -> Int {
        guard b == b.rounded(), b <= 60_000 else { throw fail("clean must be a whole number of images up to 60000 (got \(b))") }
        return Int(b)
    }

    /// A fraction of the images the victim drops: it keeps some.
    public func dropFraction(_ f: Double) throws(SpecError) -> Float {
        guard f < 1 else { throw fail("fraction must be below 1 (got \(f)): the victim keeps some images") }
        return Float(f)
    }

    /// A positive bound.
    public func positive(_ value: Double, _ key: String) throws(SpecError) -> Float {
        guard value > 0 else { throw fail("\(key) must be positive (got \(value))") }
        return Float(value)
    }
}

/// The adaptive form of a defense: what the crafter's differentiable inner step does in its
/// place. Every step, the defended step takes the poison rows' weights through every listed
/// defense's `poisonWeights`, mixes in the most `cleanImages` any asks for, applies the
/// `rowFactors` and `noisyGradients` of the ones that clip, and caps the step size through
/// `stepSize`; after the last step the parameters go through `finalParameters`, and every
/// `penalty` joins the outer loss. Each hook is the identity by default.
public protocol AdaptiveDefense: Sendable {
    /// Clean training images the victim's step mixes the poison into.
    var cleanImages: Int { get }
    /// The poison rows' weights in the victim's mean, from the victim's start weights.
    func poisonWeights(_ weights: [Float], step: InnerStep, start: [Tensor], classifier: any Classifier) -> [Float]
    /// Factors on every row's weight at the current parameters (nil: none), held constant in
    /// the meta-gradient.
    func rowFactors(_ images: Tensor, _ targets: Tensor, at theta: [Tensor], classifier: any Classifier) -> [Float]?
    /// The step's gradients as the victim uses them; `rows` is the number its mean runs over.
    func noisyGradients(_ gradients: [Tensor], rows: Int, using rng: inout SeededGenerator) -> [Tensor]
    /// The step size the victim takes, differentiable in `eta`.
    func stepSize(_ eta: Tensor) -> Tensor
    /// The parameters after every step, from `start`.
    func finalParameters(_ theta: [Tensor], start: [Tensor]) -> [Tensor]
    /// A term for the outer loss that keeps the poison out of the defense's sight (nil: none).
    func penalty(_ scene: PenaltyScene) -> Tensor?
}

extension AdaptiveDefense {
    public var cleanImages: Int { 0 }
    public func poisonWeights(_ weights: [Float], step: InnerStep, start: [Tensor], classifier: any Classifier) -> [Float] { weights }
    public func rowFactors(_ images: Tensor, _ targets: Tensor, at theta: [Tensor], classifier: any Classifier) -> [Float]? { nil }
    public func noisyGradients(_ gradients: [Tensor], rows: Int, using rng: inout SeededGenerator) -> [Tensor] { gradients }
    public func stepSize(_ eta: Tensor) -> Tensor { eta }
    public func finalParameters(_ theta: [Tensor], start: [Tensor]) -> [Tensor] { theta }
    public func penalty(_ scene: PenaltyScene) -> Tensor? { nil }
}

/// What a penalty sees: the victim's start weights, the poison's inner steps and the
/// iteration's real batch with its true labels.
public struct PenaltyScene {
    public let classifier: any Classifier
    public let start: [Tensor]
    public let steps: [InnerStep]
    public let real: Tensor
    public let batchLabels: [Int]

    public init(classifier: any Classifier, start: [Tensor], steps: [InnerStep], real: Tensor, batchLabels: [Int]) {
        (self.classifier, self.start, self.steps, self.real, self.batchLabels) = (classifier, start, steps, real, batchLabels)
    }
}

/// Every row's loss under its target row, as numbers.
func rowLosses(_ classifier: any Classifier, _ images: Tensor, _ targets: Tensor, _ weights: [Tensor]) -> [Float] {
    GradientMode.withoutRecording { (-(logSoftmax(classifier.logits(images, weights)) * targets).sum(alongAxes: [1])).scalars }
}
