import Foundation
import Results
import ResultsFixtures
import Testing

@Suite("Metrics and statistics")
struct MetricsTests {
    @Test("ClassMetrics on hand-made predictions: 3 classes, K = 0, T = 1")
    func handMadeMetrics() {
        let labels = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
        let predictions = [1, 1, 0, 2, 1, 1, 0, 2, 2, 1]
        let m = ClassMetrics.compute(predictions: predictions, labels: labels, classes: 3, forget: 0, target: 1)
        #expect(m.confusion == [[1, 2, 1], [1, 2, 0], [0, 1, 2]])
        #expect(m.accuracy == 0.5)                             // 5 of 10 correct
        #expect(m.perClass == [0.25, 2.0 / 3.0, 2.0 / 3.0])     // 1/4, 2/3, 2/3
        #expect(m.asr == 0.5)                                  // 2 of 4 class-0 images predicted 1
        #expect(m.otherAccuracy == 4.0 / 6.0)                  // classes 1 and 2: 4 of 6
        #expect(m.targetAccuracy == 0.6)                       // labels 0→1: 6 of 10 match
    }

    @Test("Empty denominators give 0 and the confusion rows show the missing support")
    func emptyDenominators() {
        // No class-0 image at all: ASR has no denominator.
        let m = ClassMetrics.compute(predictions: [1, 2], labels: [1, 2], classes: 3, forget: 0, target: 1)
        #expect(m.asr == 0)
        #expect(m.perClass == [0, 1, 1])
        #expect(m.confusion[0].reduce(0, +) == 0)
        #expect(m.otherAccuracy == 1)
        let empty = ClassMetrics.compute(predictions: [], labels: [], classes: 2, forget: 0, target: 1)
        #expect(empty.accuracy == 0 && empty.asr == 0 && empty.confusion == [[0, 0], [0, 0]])
    }

    @Test("Stat of known numbers: mean 5, population std 2, min 2, max 9")
    func statKnownNumbers() {
        let s = Stat([2, 4, 4, 4, 5, 5, 7, 9])
        #expect(s.mean == 5)
        #expect(s.std == 2)
        #expect(s.min == 2)
        #expect(s.max == 9)
        #expect(s.count == 8)
        let single = Stat([0.3])
        #expect(single.mean == 0.3 && single.std == 0 && single.min == 0.3 && single.max == 0.3)
    }

    @Test("Stat of nothing is all zeros with count 0")
    func statEmpty() {
        #expect(Stat([]) == Stat(mean: 0, std: 0, min: 0, max: 0, count: 0))
    }

    @Test("Set summary: ASR, per-class and the per-victim other-class accuracy drop")
    func setSummary() {
        let report = sampleReport()
        let s = report.results.heldout.summary
        #expect(s.before.asr.mean == 0)
        #expect(s.after.asr.mean == 0.75)
        #expect(abs(s.after.asr.std - (0.125 / 3).squareRoot()) < 1e-12)
        #expect(s.after.asr.min == 0.5 && s.after.asr.max == 1)
        #expect(s.after.perClass.count == 3)
        #expect(s.after.perClass[0].mean == 0.25)              // class-0 accuracy 0, 1/4, 2/4
        #expect(s.after.perClass[2].min == 2.0 / 3.0)          // victim 2 lost one class-2 image
        #expect(s.otherAccuracyDrop.min == 0)
        #expect(abs(s.otherAccuracyDrop.max - 1.0 / 6.0) < 1e-12)
        #expect(abs(s.otherAccuracyDrop.mean - 1.0 / 18.0) < 1e-12)
        #expect(s.otherAccuracyDrop.count == 3)
    }

    @Test("MetricsSummary of victims with different class counts summarizes each class over those that have it")
    func raggedPerClass() {
        let a = ClassMetrics.compute(predictions: [0, 1], labels: [0, 1], classes: 2, forget: 0, target: 1)
        let b = ClassMetrics.compute(predictions: [0, 1, 1], labels: [0, 1, 2], classes: 3, forget: 0, target: 1)
        let summary = MetricsSummary([a, b])
        #expect(summary.perClass.count == 3)
        #expect(summary.perClass[2] == Stat([0]))
        #expect(summary.perClass[0] == Stat([1, 1]))
    }

    @Test("Verdict thresholds", arguments: [
        (4, 0, Verdict.effective), (2, 0, Verdict.partial), (0, 0, Verdict.ineffective), (4, 2, Verdict.damaging),
    ])
    func verdict(kAsT: Int, otherErrors: Int, expected: Verdict) {
        let set = VictimSetResult(victims: [victim("v", role: .heldout, seed: 1, kAsT: kAsT, otherErrors: otherErrors)])
        #expect(Verdict(set.summary) == expected)
        #expect(Verdict(VictimSetResult(victims: []).summary) == .noData)
    }
}
