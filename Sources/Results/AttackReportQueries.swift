/// Views of a report that every renderer needs, computed in one place.
extension AttackReport {
    /// Name of class `c`, falling back to its number.
    public func className(_ c: Int) -> String {
        c >= 0 && c < dataset.classNames.count ? dataset.classNames[c] : "class \(c)"
    }

    /// Number of classes seen anywhere in the report.
    public var classCount: Int {
        let fromResults = results.namedSets.flatMap { $0.set.victims }
            .map { Swift.max($0.before.perClass.count, $0.after.perClass.count) }.max() ?? 0
        return Swift.max(dataset.classNames.count, fromResults)
    }

    /// Baselines in a stable (sorted) order.
    public var sortedBaselines: [(name: String, result: BaselineResult)] {
        baselines.keys.sorted().compactMap { key in baselines[key].map { (key, $0) } }
    }

    /// Mean after-step confusion matrix over the held-out victims (nil if there are none).
    public var meanHeldoutConfusion: [[Double]]? {
        let victims = results.heldout.victims
        guard !victims.isEmpty else { return nil }
        let n = classCount
        var sum = Array(repeating: Array(repeating: 0.0, count: n), count: n)
        for victim in victims {
            for (r, row) in victim.after.confusion.enumerated() where r < n {
                for (c, count) in row.enumerated() where c < n {
                    sum[r][c] += Double(count)
                }
            }
        }
        let scale = 1 / Double(victims.count)
        return sum.map { $0.map { $0 * scale } }
    }
}
