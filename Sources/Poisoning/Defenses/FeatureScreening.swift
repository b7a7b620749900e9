import Autodiff
import Networks
import Results

/// A detector on penultimate features. The screening runs it on the images of one label
/// at a time (the poison hides among images of the label it was given), so a detector
/// only says which rows of one label's features look poisoned.
public protocol FeatureDetector: Sendable {
    /// The defense this detector is (its key names the result).
    var spec: DefenseSpec { get }
    /// One sentence on what it flags, for reports.
    var summary: String { get }
    /// Indices of the `features` rows (all of one label) to drop.
    func flagged(_ features: [[Double]]) -> [Int]
}

/// Feature-space detection on the mixed batch: each step's poison arrives among clean
/// training images (as with dilution); the victim computes every image's penultimate
/// features with its current weights, runs `detector` per label (the argmax of its
/// target), drops what it flags and steps on the rest. The outcome carries what was
/// flagged, so the report has the detector's TPR, FPR and F1 beside the ASR.
public struct FeatureScreening: VictimUpdate {
    public let detector: any FeatureDetector
    /// Where the clean images come from.
    public let mix: Dilution

    public init(detector: any FeatureDetector, mix: Dilution) { (self.detector, self.mix) = (detector, mix) }

    public var key: String { detector.spec.key }
    public var description: String {
        "\(detector.summary) The poison is mixed into \(mix.clean.images.shape[0]) clean training images; flagged images are dropped before the step."
    }

    public func apply(_ parameters: [Tensor], poison: PoisonSet, classifier: any Classifier) -> UpdateOutcome {
        var counts = DetectionCounts(flaggedPoison: 0, poison: 0, flaggedClean: 0, clean: 0)
        let steps = (0..<poison.steps).map { s -> InnerStep in
            let step = poison.step(s, classes: classifier.classes)
            let (images, targets) = mix.mixed(step.images, step.targets)
            let flagged = self.flagged(images, targets: targets, parameters: parameters, classifier: classifier)
            let poisonRows = step.images.shape[0], flaggedPoison = flagged.filter { $0 < poisonRows }.count
            counts = counts + DetectionCounts(flaggedPoison: flaggedPoison, poison: poisonRows, flaggedClean: flagged.count - flaggedPoison,
                                              clean: images.shape[0] - poisonRows)
            let kept = (0..<images.shape[0]).filter { !flagged.contains($0) }
            return InnerStep(images: images.rows(kept), targets: targets.rows(kept))
        }
        let theta = unroll(classifier, from: parameters, steps: steps, stepSizes: poison.stepSizes.map { Tensor($0) },
                           epochs: poison.epochs, createGraph: false)
        return UpdateOutcome(parameters: theta, detection: counts)
    }

    /// The rows of `images` the detector flags, label by label.
    public func flagged(_ images: Tensor, targets: Tensor, parameters: [Tensor], classifier: any Classifier) -> Set<Int> {
        let features = GradientMode.withoutRecording { classifier.features(images, parameters) }
        let (n, d, k) = (features.shape[0], features.shape[1], targets.shape[1])
        let (values, targetValues) = (features.scalars, targets.scalars)
        let labels = (0..<n).map { r in (0..<k).max { targetValues[r * k + $0] < targetValues[r * k + $1] }! }
        var flagged = Set<Int>()
        for label in Set(labels).sorted() {
            let rows = labels.indices.filter { labels[$0] == label }
            let group = rows.map { r in (0..<d).map { Double(values[r * d + $0]) } }
            flagged.formUnion(detector.flagged(group).map { rows[$0] })
        }
        return flagged
    }
}

/// Principal directions of a set of feature rows, for the detectors.
enum PrincipalDirections {
    /// `rows` minus their mean.
    static func centered(_ rows: [[Double]]) -> [[Double]] {
        guard let width = rows.first?.count else { return [] }
        let mean = (0..<width).map { j in rows.reduce(0) { $0 + $1[j] } / Double(rows.count) }
        return rows.map { row in zip(row, mean).map { $0 - $1 } }
    }

    /// The `count` leading eigenvectors (unit length, largest eigenvalue first) of the
    /// scatter matrix XᵀX of the centered `rows`: the top right singular vectors of X.
    /// Power iteration with deflation from a fixed start, so the result is deterministic.
    static func top(_ count: Int, of centered: [[Double]], iterations: Int = 300) -> [[Double]] {
        guard let d = centered.first?.count, d > 0 else { return [] }
        var scatter = [Double](repeating: 0, count: d * d)
        for row in centered {
            for i in 0..<d where row[i] != 0 {
                for j in 0..<d { scatter[i * d + j] += row[i] * row[j] }
            }
        }
        var directions: [[Double]] = []
        for _ in 0..<min(count, d) {
            var v = (0..<d).map { 1 + Double($0) / Double(d) }
            var eigenvalue = 0.0
            for _ in 0..<iterations {
                let w = (0..<d).map { i in (0..<d).reduce(0) { $0 + scatter[i * d + $1] * v[$1] } }
                let norm = w.reduce(0) { $0 + $1 * $1 }.squareRoot()
                guard norm > 1e-12 else { return directions }
                (v, eigenvalue) = (w.map { $0 / norm }, norm)
            }
            directions.append(v)
            for i in 0..<d { for j in 0..<d { scatter[i * d + j] -= eigenvalue * v[i] * v[j] } }
        }
        return directions
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
}

/// The adaptive form of the feature-space detectors: the mean over steps and the poison's
/// labels c of Σ_d [(μ_d − m_d)² + (s_d − σ_d)²] / Σ_d σ_d², μ and s the per-feature mean and
/// standard deviation of the penultimate features of the poison rows labelled c (their
/// target's argmax, as the screening groups them), m and σ those of the real batch's
/// class-c images, all under the victim's start weights. Zero when, label by label, the
/// poison's features have the clean class's first two moments; labels with fewer than two
/// clean images in the batch are skipped.
public func featureStatisticsPenalty(_ scene: PenaltyScene) -> Tensor {
    let (classifier, batchLabels) = (scene.classifier, scene.batchLabels)
    let weights = scene.start.map { $0.detached() }
    let clean = GradientMode.withoutRecording { classifier.features(scene.real, weights) }
    let perStep = scene.steps.map { step -> Tensor in
        let features = classifier.features(step.images, weights)
        let k = step.targets.shape[1]
        let targets = step.targets.scalars
        let labels = (0..<step.images.shape[0]).map { r in (0..<k).max { targets[r * k + $0] < targets[r * k + $1] }! }
        let terms = Set(labels).sorted().compactMap { c -> Tensor? in
            let cleanRows = batchLabels.indices.filter { batchLabels[$0] == c }
            guard cleanRows.count >= 2 else { return nil }
            let (m, sigma) = GradientMode.withoutRecording { moments(selectedRows(cleanRows, of: clean)) }
            let (mu, spread) = moments(selectedRows(labels.indices.filter { labels[$0] == c }, of: features))
            let scale = 1 / max((sigma * sigma).sum().item, 1e-12)
            return (((mu - m) * (mu - m)).sum() + ((spread - sigma) * (spread - sigma)).sum()) * scale
        }
        return terms.isEmpty ? Tensor(0) : terms.dropFirst().reduce(terms[0], +) * (1 / Float(terms.count))
    }
    return perStep.dropFirst().reduce(perStep[0], +) * (1 / Float(scene.steps.count))
}

/// The rows `indices` of the matrix `x`, differentiably (a product with a 0/1 selection).
private func selectedRows(_ indices: [Int], of x: Tensor) -> Tensor {
    var selection = [Float](repeating: 0, count: indices.count * x.shape[0])
    for (r, i) in indices.enumerated() { selection[r * x.shape[0] + i] = 1 }
    return matmul(Tensor(shape: [indices.count, x.shape[0]], scalars: selection), x)
}

/// Per-column mean and standard deviation (population, with a small floor inside the
/// root so its gradient stays finite when a column is constant).
private func moments(_ x: Tensor) -> (mean: Tensor, std: Tensor) {
    let mean = x.mean(alongAxes: [0])
    let centred = x - mean
    return (mean, sqrt((centred * centred).mean(alongAxes: [0]) + 1e-8))
}
