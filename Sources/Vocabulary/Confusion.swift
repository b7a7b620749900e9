/// How often each true class was predicted as each class: the one place predictions are
/// counted against labels, so a victim's accuracy in its zoo manifest and in a report are
/// the same numbers by construction.
public struct Confusion: Sendable, Equatable {
    /// `counts[trueClass][predictedClass]`.
    public let counts: [[Int]]

    /// Tallies `predictions` against `labels`.
    /// - Precondition: equal lengths and every value in `0..<classes`. A violation means the
    ///   caller evaluated the wrong network or test set, so it stops with a message naming
    ///   the bad value rather than silently producing meaningless numbers.
    public init(predictions: [Int], labels: [Int], classes: Int) {
        precondition(classes > 0, "Confusion: classes must be positive, got \(classes)")
        precondition(predictions.count == labels.count,
                     "Confusion: \(predictions.count) predictions for \(labels.count) labels; "
                     + "evaluate the victim on the same test set the labels come from")
        var counts = Array(repeating: Array(repeating: 0, count: classes), count: classes)
        for (index, (predicted, label)) in zip(predictions, labels).enumerated() {
            precondition((0..<classes).contains(label), "Confusion: label \(label) at index \(index) outside 0..<\(classes)")
            precondition((0..<classes).contains(predicted),
                         "Confusion: prediction \(predicted) at index \(index) outside 0..<\(classes)")
            counts[label][predicted] += 1
        }
        self.counts = counts
    }

    /// Number of images counted.
    public var total: Int { counts.reduce(0) { $0 + $1.reduce(0, +) } }
    /// Number of images of class `c` (the row's sum).
    public func support(_ c: Int) -> Int { counts[c].reduce(0, +) }
    /// Number of images predicted as their true class.
    public var correct: Int { counts.indices.reduce(0) { $0 + counts[$1][$1] } }

    /// Share of all images classified correctly (0 when there are none).
    public var accuracy: Double { Confusion.fraction(correct, of: total) }
    /// Accuracy of each true class (0 for a class without images; its support tells it apart).
    public var perClassAccuracy: [Double] { counts.indices.map { Confusion.fraction(counts[$0][$0], of: support($0)) } }

    /// `part / whole`, or 0 for an empty whole.
    public static func fraction(_ part: Int, of whole: Int) -> Double {
        whole == 0 ? 0 : Double(part) / Double(whole)
    }
}
