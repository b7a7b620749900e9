import Results

/// Renders per-victim results as CSV for spreadsheets and scripts.
///
/// RFC 4180 quoting, `\n` line endings. Text fields (ids, class names in the header) that
/// start with `=`, `+`, `-`, `@`, tab or CR get a leading `'` so that a spreadsheet does not
/// execute them as formulas (CSV injection); numbers are written unchanged, with full precision.
public enum CSVReport {
    /// One row per victim per set: the attack's sets (`heldout`, `known`, `crafting`), then each
    /// baseline's victims as set `baseline:<name>` (baselines in name order).
    ///
    /// Columns: `set, id, role, seed, accuracy_before, accuracy_after, asr_before, asr_after,
    /// other_accuracy_before, other_accuracy_after, oracle_asr, oracle_other_accuracy` (the
    /// oracle's two empty where none was run), then one `after_<class name>` column per class
    /// with that class's accuracy after the step (empty if the victim lacks the class).
    public static func victims(_ report: AttackReport) -> String {
        let classCount = report.classCount
        var header = ["set", "id", "role", "seed", "accuracy_before", "accuracy_after", "asr_before",
                      "asr_after", "other_accuracy_before", "other_accuracy_after", "oracle_asr",
                      "oracle_other_accuracy"].joined(separator: ",")
        for c in 0..<classCount {
            header += "," + textField("after_" + report.className(c))
        }
        var lines = [header]
        var sets = report.results.namedSets.map { ($0.name, $0.set.victims) }
        sets += report.sortedBaselines.map { ("baseline:" + $0.name, $0.result.victims) }
        for (setName, victims) in sets {
            for v in victims {
                var fields = [textField(setName), textField(v.id), v.role.rawValue, "\(v.seed)"]
                fields += [v.before.accuracy, v.after.accuracy, v.before.asr, v.after.asr,
                           v.before.otherAccuracy, v.after.otherAccuracy].map { "\($0)" }
                fields += [v.oracle?.asr, v.oracle?.otherAccuracy].map { $0.map { "\($0)" } ?? "" }
                fields += (0..<classCount).map { c in c < v.after.perClass.count ? "\(v.after.perClass[c])" : "" }
                lines.append(fields.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The audit's matrix, one row per audited pair in the audit's order: `forget, target,
    /// forget_name, target_name`, then held-out ASR and other-class accuracy drop (mean,
    /// std, min, max, victims); when pairs have an oracle, its mean ASR and the cell's share
    /// of it (`oracle_asr_mean, asr_over_oracle`); when they have a white-box bound, its mean
    /// ASR, share of the oracle and other-class drop (`white_box_…`); then held-out ASR and
    /// drop under each defense (`<key> asr_mean` …). It holds results only (no dates, no
    /// timings), so the same audit gives the same bytes however it was split into tasks.
    public static func matrix(_ audit: AuditReport) -> String {
        func stat(_ name: String) -> [String] { ["mean", "std", "min", "max", "count"].map { "\(name)_\($0)" } }
        func values(_ s: Stat) -> [String] { ["\(s.mean)", "\(s.std)", "\(s.min)", "\(s.max)", "\(s.count)"] }
        func ratio(_ oracle: OracleComparison?) -> String { oracle.map { "\($0.meanASRRatio)" } ?? "" }
        let keys = audit.defenseKeys
        let (oracles, whiteBox) = (audit.pairs.contains { $0.oracle != nil }, audit.hasWhiteBox)
        var header = ["forget", "target", "forget_name", "target_name"] + stat("asr") + stat("other_drop")
        if oracles { header += ["oracle_asr_mean", "asr_over_oracle"] }
        if whiteBox { header += ["white_box_asr_mean", "white_box_asr_over_oracle", "white_box_other_drop_mean"] }
        header += keys.flatMap { key in (stat("asr") + stat("other_drop")).map { textField("\(key) \($0)") } }
        var lines = [header.joined(separator: ",")]
        for pair in audit.pairs {
            var fields = ["\(pair.forget)", "\(pair.target)", textField(audit.className(pair.forget)), textField(audit.className(pair.target))]
            fields += values(pair.asr) + values(pair.otherAccuracyDrop)
            if oracles { fields += [pair.oracle.map { "\($0.oracleASR.mean)" } ?? "", ratio(pair.oracle)] }
            if whiteBox {
                fields += pair.whiteBox.map { ["\($0.asr.mean)", ratio($0.oracle), "\($0.otherAccuracyDrop.mean)"] } ?? ["", "", ""]
            }
            for key in keys {
                fields += pair.defended(key).map { values($0.asr) + values($0.otherAccuracyDrop) } ?? Array(repeating: "", count: 10)
            }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Quotes a text field when needed and defuses spreadsheet formulas.
    static func textField(_ raw: String) -> String {
        var text = raw
        if let first = text.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) {
            text = "'" + text
        }
        if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }
}
