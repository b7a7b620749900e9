import Vocabulary

/// The metrics of one victim at one moment (before or after the poison step).
///
/// These are the numbers the attack is judged by: did class K move to T (`asr`), and did
/// everything else survive (`otherAccuracy`)? All fractions lie in [0, 1]. A fraction whose
/// denominator is empty (e.g. no class-K image in the test set) is reported as 0; the row sums
/// of `confusion` give the support of every class, so such a 0 can always be told apart from
/// a measured 0.
public struct ClassMetrics: Codable, Equatable, Sendable {
    /// Share of all test images classified correctly.
    public var accuracy: Double
    /// Accuracy of each true class, indexed by class.
    public var perClass: [Double]
    /// Attack success rate: share of class-K test images predicted as T.
    public var asr: Double
    /// Accuracy on the test images whose true class is not K (collateral damage shows here).
    public var otherAccuracy: Double
    /// Accuracy against the attacker's goal: the labels with every K replaced by T.
    public var targetAccuracy: Double
    /// Confusion counts: `confusion[trueClass][predictedClass]`.
    public var confusion: [[Int]]

    enum CodingKeys: String, CodingKey {
        case accuracy
        case perClass = "per_class"
        case asr
        case otherAccuracy = "other_accuracy"
        case targetAccuracy = "target_accuracy"
        case confusion
    }

    /// Memberwise initializer, for metrics computed elsewhere or loaded from disk.
    public init(accuracy: Double, perClass: [Double], asr: Double, otherAccuracy: Double,
                targetAccuracy: Double, confusion: [[Int]]) {
        self.accuracy = accuracy
        self.perClass = perClass
        self.asr = asr
        self.otherAccuracy = otherAccuracy
        self.targetAccuracy = targetAccuracy
        self.confusion = confusion
    }

    /// Computes every metric from a victim's predictions on a labelled test set.
    ///
    /// - Parameters:
    ///   - predictions: predicted class of each test image.
    ///   - labels: true class of each test image, same length as `predictions`.
    ///   - classes: number of classes; every prediction and label must lie in `0..<classes`.
    ///   - k: the class the attack wants forgotten.
    ///   - t: the class K should be predicted as.
    /// - Precondition: those of `Confusion`, and K and T in range.
    public static func compute(predictions: [Int], labels: [Int], classes: Int,
                               forget k: Int, target t: Int) -> ClassMetrics {
        precondition((0..<classes).contains(k) && (0..<classes).contains(t),
                     "ClassMetrics.compute: forget class \(k) / target class \(t) outside 0..<\(classes)")
        let confusion = Confusion(predictions: predictions, labels: labels, classes: classes)
        let counts = confusion.counts
        let kTotal = confusion.support(k)
        // Against the K→T labels, class K's images count when predicted T instead of K.
        let targetCorrect = confusion.correct - counts[k][k] + counts[k][t]
        return ClassMetrics(
            accuracy: confusion.accuracy,
            perClass: confusion.perClassAccuracy,
            asr: Confusion.fraction(counts[k][t], of: kTotal),
            otherAccuracy: Confusion.fraction(confusion.correct - counts[k][k], of: confusion.total - kTotal),
            targetAccuracy: Confusion.fraction(targetCorrect, of: confusion.total),
            confusion: counts)
    }
}

/// Summary statistics of one metric over several victims.
///
/// An empty input yields `count == 0` and zeros everywhere else: the zeros are placeholders,
/// not measurements, and the renderers print "n/a" for them. `std` is the population standard
/// deviation (divide by n), because the victims evaluated are the whole population reported on.
public struct Stat: Codable, Equatable, Sendable {
    /// Arithmetic mean.
    public var mean: Double
    /// Population standard deviation.
    public var std: Double
    /// Smallest value.
    public var min: Double
    /// Largest value.
    public var max: Double
    /// How many values were summarized; 0 means "no data".
    public var count: Int

    /// Summarizes `values` (two-pass, so the std is stable for values close together).
    public init(_ values: [Double]) {
        guard let first = values.first else {
            (mean, std, min, max, count) = (0, 0, 0, 0, 0)
            return
        }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        self.mean = mean
        self.std = variance.squareRoot()
        self.min = values.reduce(first) { Swift.min($0, $1) }
        self.max = values.reduce(first) { Swift.max($0, $1) }
        self.count = values.count
    }

    /// Memberwise initializer, for statistics computed elsewhere.
    public init(mean: Double, std: Double, min: Double, max: Double, count: Int) {
        (self.mean, self.std, self.min, self.max, self.count) = (mean, std, min, max, count)
    }
}

/// Mean ± std, min and max of every `ClassMetrics` field over a set of victims.
public struct MetricsSummary: Codable, Equatable, Sendable {
    /// Overall accuracy.
    public var accuracy: Stat
    /// Attack success rate (class K predicted as T).
    public var asr: Stat
    /// Accuracy on classes other than K.
    public var otherAccuracy: Stat
    /// Accuracy against the K→T-modified labels.
    public var targetAccuracy: Stat
    /// Accuracy of each true class. A victim with fewer classes than another only contributes
    /// to the classes it has (visible in each `Stat.count`).
    public var perClass: [Stat]

    enum CodingKeys: String, CodingKey {
        case accuracy, asr
        case otherAccuracy = "other_accuracy"
        case targetAccuracy = "target_accuracy"
        case perClass = "per_class"
    }

    /// Summarizes the metrics of several victims taken at the same moment.
    public init(_ metrics: [ClassMetrics]) {
        accuracy = Stat(metrics.map(\.accuracy))
        asr = Stat(metrics.map(\.asr))
        otherAccuracy = Stat(metrics.map(\.otherAccuracy))
        targetAccuracy = Stat(metrics.map(\.targetAccuracy))
        let classes = metrics.map(\.perClass.count).max() ?? 0
        perClass = (0..<classes).map { c in
            Stat(metrics.compactMap { c < $0.perClass.count ? $0.perClass[c] : nil })
        }
    }

    /// Memberwise initializer.
    public init(accuracy: Stat, asr: Stat, otherAccuracy: Stat, targetAccuracy: Stat, perClass: [Stat]) {
        self.accuracy = accuracy
        self.asr = asr
        self.otherAccuracy = otherAccuracy
        self.targetAccuracy = targetAccuracy
        self.perClass = perClass
    }
}
