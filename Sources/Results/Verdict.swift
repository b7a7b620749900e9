/// The one-line judgement at the top of every human-readable report.
///
/// Judged on held-out victims only (the honest numbers), with fixed thresholds so that two
/// reports with the same verdict mean the same thing. With an oracle, ASR is read as its
/// share of the oracle's (destroyed victims counting 0) and collateral as the excess over the
/// oracle's, so a verdict means the same on every pair, dataset and model; without one:
/// - `effective`: mean ASR after ≥ `successASR` and mean other-class accuracy drop ≤ `maxCollateralDrop`;
/// - `damaging`: mean ASR after ≥ `partialASR` but the drop exceeds `maxCollateralDrop`;
/// - `partial`: mean ASR after ≥ `partialASR` with a small drop;
/// - `ineffective`: mean ASR after < `partialASR`;
/// - `noData`: no held-out victim was evaluated.
public enum Verdict: String, Sendable, CaseIterable {
    /// K is forced to T on held-out victims and the other classes survive.
    case effective
    /// K is (at least partly) forced to T, but other classes lose accuracy.
    case damaging
    /// K is partly forced to T without notable collateral damage.
    case partial
    /// The poison barely moves K to T.
    case ineffective
    /// Nothing to judge: no held-out victim.
    case noData = "no_data"

    /// Mean ASR at or above which the attack counts as a success.
    public static let successASR = 0.8
    /// Mean ASR at or above which the attack counts as partly working.
    public static let partialASR = 0.2
    /// Largest mean other-class accuracy drop (a fraction, 0.05 = 5 points) still called "no collateral damage".
    public static let maxCollateralDrop = 0.05
    /// Share of the oracle's ASR at or above which the attack counts as a success.
    public static let successRatio = 0.8
    /// Share of the oracle's ASR at or above which the attack counts as partly working.
    public static let partialRatio = 0.2

    /// Judges a held-out summary.
    public init(_ heldout: VictimSetSummary) {
        let asr = heldout.after.asr
        guard asr.count > 0 else {
            self = .noData
            return
        }
        if let oracle = heldout.oracle {
            let share = oracle.meanASRRatio
            let excess = oracle.excessOtherDrop.mean
            let mostlyDestroyed = 2 * oracle.destroyed.count > asr.count
            if share >= Verdict.successRatio && excess <= Verdict.maxCollateralDrop {
                self = .effective
            } else if mostlyDestroyed || (asr.mean >= Verdict.partialASR && excess > Verdict.maxCollateralDrop) {
                self = .damaging
            } else {
                self = share >= Verdict.partialRatio ? .partial : .ineffective
            }
            return
        }
        let drop = heldout.otherAccuracyDrop.mean
        if asr.mean >= Verdict.successASR && drop <= Verdict.maxCollateralDrop {
            self = .effective
        } else if asr.mean >= Verdict.partialASR && drop > Verdict.maxCollateralDrop {
            self = .damaging
        } else if asr.mean >= Verdict.partialASR {
            self = .partial
        } else {
            self = .ineffective
        }
    }

    /// Short label, e.g. "Attack effective".
    public var label: String {
        switch self {
        case .effective: return "Attack effective"
        case .damaging: return "Attack works but causes collateral damage"
        case .partial: return "Attack partly effective"
        case .ineffective: return "Attack ineffective"
        case .noData: return "No held-out victims evaluated"
        }
    }
}
