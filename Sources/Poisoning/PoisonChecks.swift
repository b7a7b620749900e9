import Autodiff

/// The values a poison file may hold. A poison set comes from anywhere (`amnesia
/// evaluate`), and a victim takes it as given: a non-finite pixel, a step size that is not a
/// positive number or soft labels that are not distributions would produce a report that
/// looks valid and measures nothing, so they are refused when the file is read.
extension PoisonSet {
    /// Most inner updates (steps × epochs) a poison may ask of a victim: far beyond any
    /// crafted poison, and a bound on how long evaluating one can take.
    public static let maxUpdates = 1_000
    /// Largest pixel magnitude accepted in normalized space (real images lie within a few
    /// units of zero).
    public static let maxPixel: Float = 1e4
    /// Largest step size accepted.
    public static let maxStepSize: Float = 1e3
    /// How far a soft-label row's sum may be from one.
    public static let softLabelTolerance: Float = 1e-3

    /// Every problem with the values of a poison's tensors, each naming the tensor, the
    /// first offending index and value, and the rule.
    public static func valueProblems(images: [Float], stepSizes: [Float], labels: [Int], softLabels: Tensor?) -> [String] {
        var problems: [String] = []
        if let i = images.firstIndex(where: { !($0.magnitude <= maxPixel) }) {
            problems.append("'images' value \(i) is \(images[i]); pixels must be finite and within ±\(maxPixel) in normalized space")
        }
        if let i = stepSizes.firstIndex(where: { !($0 > 0 && $0 <= maxStepSize) }) {
            problems.append("'lrs' value \(i) is \(stepSizes[i]); step sizes must be positive, finite and at most \(maxStepSize)")
        }
        if let i = labels.firstIndex(where: { $0 < 0 }) { problems.append("'labels' value \(i) is \(labels[i]); labels are class indices ≥ 0") }
        if let soft = softLabels, let columns = soft.shape.last, columns > 0 {
            let values = soft.scalars
            if let i = values.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
                problems.append("'soft_labels' value \(i) is \(values[i]); soft labels are probabilities in [0, 1]")
            } else {
                let sums = (0..<(values.count / columns)).map { values[($0 * columns)..<(($0 + 1) * columns)].reduce(0, +) }
                guard let row = sums.firstIndex(where: { abs($0 - 1) > softLabelTolerance }) else { return problems }
                let sum = sums[row]
                problems.append("'soft_labels' row \(row) sums to \(sum); every row must sum to 1 (within \(softLabelTolerance))")
            }
        }
        return problems
    }
}
