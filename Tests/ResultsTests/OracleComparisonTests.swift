import Results
import Testing

/// Metrics of a 3-class victim (K = 0, T = 1) with the given ASR and per-class accuracies
/// of classes 1 and 2 (other-class accuracy is their mean: equal support).
private func metrics(asr: Double, other: (Double, Double)) -> ClassMetrics {
    ClassMetrics(accuracy: 0, perClass: [1 - asr, other.0, other.1], asr: asr, otherAccuracy: (other.0 + other.1) / 2,
                 targetAccuracy: 0, confusion: [])
}

@Suite("Reading results against the oracle")
struct OracleComparisonTests {
    static let before = metrics(asr: 0, other: (0.9, 0.9))

    @Test("ratios, collateral beyond the oracle's, and a destroyed victim counted as 0")
    func comparison() throws {
        let victims = [
            // Fooled: ASR 0.6 of an oracle's 0.8, other classes down 2 points where the oracle's fell 1.
            VictimResult(id: "a", role: .heldout, seed: 0, before: Self.before, after: metrics(asr: 0.6, other: (0.88, 0.88)),
                         oracle: metrics(asr: 0.8, other: (0.89, 0.89))),
            // Destroyed: ASR 1 but other classes down 40 points, the oracle's 1.
            VictimResult(id: "b", role: .heldout, seed: 1, before: Self.before, after: metrics(asr: 1, other: (0.5, 0.5)),
                         oracle: metrics(asr: 0.8, other: (0.89, 0.89))),
        ]
        let summary = VictimSetSummary(victims: victims, forget: 0)
        let oracle = try #require(summary.oracle)
        #expect(oracle.destroyed == ["b"])
        #expect(oracle.keptASR.mean == 0.3, "the destroyed victim counts 0")
        #expect(abs(oracle.asrRatio.min - 0) < 1e-12 && abs(oracle.asrRatio.max - 0.75) < 1e-12)
        #expect(abs(oracle.meanASRRatio - 0.3 / 0.8) < 1e-12)
        #expect(abs(oracle.excessOtherDrop.min - 0.01) < 1e-12 && abs(oracle.excessOtherDrop.max - 0.39) < 1e-12)
        #expect(abs(oracle.oracleOtherDrop.mean - 0.01) < 1e-12)
        // Worst class: class 1 (tie broken by max's first) drops (0.02 + 0.4) / 2 = 0.21; the oracle's 0.01.
        #expect(abs((oracle.excessWorstClassDrop ?? 0) - 0.20) < 1e-12)
    }

    @Test("no comparison unless every victim has its oracle; a pair the oracle can't force has no ratio")
    func partialAndUnforceable() {
        let withOracle = VictimResult(id: "a", role: .heldout, seed: 0, before: Self.before,
                                      after: metrics(asr: 0.02, other: (0.9, 0.9)), oracle: metrics(asr: 0.01, other: (0.9, 0.9)))
        let without = VictimResult(id: "b", role: .heldout, seed: 1, before: Self.before, after: Self.before)
        #expect(VictimSetSummary(victims: [withOracle, without], forget: 0).oracle == nil)
        #expect(VictimSetSummary(victims: [withOracle], forget: nil).oracle == nil, "K is needed")
        let unforceable = VictimSetSummary(victims: [withOracle], forget: 0).oracle
        #expect(unforceable?.asrRatio.count == 0 && unforceable?.meanASRRatio == 0)
    }

    @Test("the verdict reads the oracle: 0.9 of a low oracle is effective, a mostly destroyed set is damaging")
    func verdict() {
        let oracle = metrics(asr: 0.5, other: (0.88, 0.88))
        let fooled = (0..<4).map { VictimResult(id: "\($0)", role: .heldout, seed: 0, before: Self.before,
                                                after: metrics(asr: 0.45, other: (0.87, 0.87)), oracle: oracle) }
        #expect(Verdict(VictimSetSummary(victims: fooled, forget: 0)) == .effective, "45% raw, 0.9 of the oracle")
        #expect(Verdict(VictimSetSummary(victims: fooled.map { var v = $0; v.oracle = nil; return v }, forget: 0)) == .partial)
        let wrecked = (0..<4).map { VictimResult(id: "\($0)", role: .heldout, seed: 0, before: Self.before,
                                                 after: metrics(asr: 1, other: (0.3, 0.3)), oracle: oracle) }
        #expect(Verdict(VictimSetSummary(victims: wrecked, forget: 0)) == .damaging)
    }
}
