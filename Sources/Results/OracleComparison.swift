/// A set of victims read against their oracle: each victim fine-tuned on the whole training
/// set with K relabelled T, the most any poisoning can do to it. Raw ASR can't be compared
/// across pairs, datasets or models (T-shirt → Trouser tops out near 85% on LeNets, 9 → 7
/// near 100%); the share of the oracle's ASR, and the collateral beyond the oracle's, can.
///
/// A victim whose other classes fall more than `destructionMargin` beyond its oracle's is
/// *destroyed*, not fooled: it is counted apart and its ASR counts as 0 in every ratio.
public struct OracleComparison: Codable, Equatable, Sendable {
    /// Beyond the oracle's other-class drop, the drop (a fraction: 0.05 = 5 points) past
    /// which a victim counts as destroyed.
    public static let destructionMargin = 0.05
    /// Oracle ASRs below this are not ratios' denominators: the pair can't be forced on
    /// that victim at all, and a ratio would only amplify noise.
    public static let minimumOracleASR = 0.05

    /// The oracle's ASR on the same victims.
    public var oracleASR: Stat
    /// The oracle's other-class accuracy drop.
    public var oracleOtherDrop: Stat
    /// The oracle's worst other class (mean drop over the victims).
    public var oracleWorstClassDrop: ClassDrop?
    /// ASR with destroyed victims counted as 0.
    public var keptASR: Stat
    /// Per victim: kept ASR / that victim's oracle ASR (victims whose oracle ASR is below
    /// `minimumOracleASR` are left out; `count` says how many are in).
    public var asrRatio: Stat
    /// Mean kept ASR / mean oracle ASR (0 when the oracle's mean is below `minimumOracleASR`).
    public var meanASRRatio: Double
    /// Per victim: other-class drop minus the oracle's (positive: more collateral than the oracle).
    public var excessOtherDrop: Stat
    /// The set's worst-class mean drop minus the oracle's worst-class mean drop.
    public var excessWorstClassDrop: Double?
    /// Victims destroyed rather than fooled, by id.
    public var destroyed: [String]

    enum CodingKeys: String, CodingKey {
        case oracleASR = "oracle_asr"
        case oracleOtherDrop = "oracle_other_accuracy_drop"
        case oracleWorstClassDrop = "oracle_worst_other_class_drop"
        case keptASR = "kept_asr"
        case asrRatio = "asr_ratio"
        case meanASRRatio = "mean_asr_ratio"
        case excessOtherDrop = "excess_other_accuracy_drop"
        case excessWorstClassDrop = "excess_worst_other_class_drop"
        case destroyed
    }

    /// The comparison of `victims` (nil unless every one has its oracle's metrics);
    /// `worstClassDrop` is the set's own worst other class.
    public init?(_ victims: [VictimResult], forget: Int, worstClassDrop: ClassDrop?) {
        guard !victims.isEmpty else { return nil }
        var oracles: [ClassMetrics] = []
        for victim in victims {
            guard let oracle = victim.oracle else { return nil }
            oracles.append(oracle)
        }
        let drops = victims.map { $0.before.otherAccuracy - $0.after.otherAccuracy }
        let oracleDrops = zip(victims, oracles).map { $0.before.otherAccuracy - $1.otherAccuracy }
        let excess = zip(drops, oracleDrops).map { $0 - $1 }
        let isDestroyed = excess.map { $0 > OracleComparison.destructionMargin }
        let kept = victims.indices.map { isDestroyed[$0] ? 0 : victims[$0].after.asr }
        oracleASR = Stat(oracles.map(\.asr))
        oracleOtherDrop = Stat(oracleDrops)
        oracleWorstClassDrop = ClassDrop.worst(victims, excluding: forget) { $0.oracle ?? $0.after }
        keptASR = Stat(kept)
        asrRatio = Stat(victims.indices.compactMap { i in
            oracles[i].asr >= OracleComparison.minimumOracleASR ? kept[i] / oracles[i].asr : nil
        })
        meanASRRatio = oracleASR.mean >= OracleComparison.minimumOracleASR ? keptASR.mean / oracleASR.mean : 0
        excessOtherDrop = Stat(excess)
        excessWorstClassDrop = both(worstClassDrop, oracleWorstClassDrop).map { $0.drop - $1.drop }
        destroyed = victims.indices.filter { isDestroyed[$0] }.map { victims[$0].id }
    }
}

/// Both values, when neither is nil.
private func both<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
