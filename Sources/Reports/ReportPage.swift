import Foundation
import Results

/// A human-readable report: its title, the ordered list of its sections, built once from the
/// report model, and the schema it was rendered from. Every `ReportFormat` draws this value.
public struct ReportPage: Sendable {
    /// "Amnesia attack report" or "Amnesia robustness audit".
    public var kind: String
    /// The run's name.
    public var name: String
    public var sections: [ReportSection]
    /// The schema id of the JSON the page was rendered from.
    public var schema: String
    /// The file the page can be re-rendered from (nil: none).
    public var source: String?

    /// "Amnesia attack report: <name>".
    public var title: String { "\(kind): \(name)" }

    /// An attack report's page. `images` are PNG files by name (the poison grid under
    /// `report.poison.gridPNG`), shown with the poison.
    public init(_ report: AttackReport, images: [String: Data] = [:]) {
        let tm = report.threatModel
        let heldout = report.results.heldout
        let classes = (0..<report.classCount).map { c in
            ClassRow(index: c, name: report.className(c),
                     mark: c == tm.forgetClass ? " (K)" : c == tm.targetClass ? " (T)" : "",
                     before: c < heldout.summary.before.perClass.count ? heldout.summary.before.perClass[c] : Stat([]),
                     after: c < heldout.summary.after.perClass.count ? heldout.summary.after.perClass[c] : Stat([]))
        }
        let baselines = BaselineTable(learnedStepSizes: report.poison.learnedStepSizes, attack: heldout.summary,
                                      attackVictims: heldout.victims.count, controls: report.sortedBaselines)
        var others: [(label: String, summary: VictimSetSummary)] = []
        if let foreign = report.results.foreign {
            others.append(("Foreign-recipe held-out victims (\(foreign.victims.count), recipes crafting never used)", foreign.summary))
        }
        if let known = report.results.known { others.append(("Known (white-box) victim", known.summary)) }
        if let crafting = report.results.crafting {
            others.append(("Crafting zoo (seen while crafting, optimistic)", crafting.summary))
        }
        var imageNames = images.keys.sorted()
        if let grid = report.poison.gridPNG, let index = imageNames.firstIndex(of: grid) {
            imageNames.remove(at: index)
            imageNames.insert(grid, at: 0)
        }
        kind = "Amnesia attack report"
        name = report.run.name
        schema = report.schema
        source = "report.json"
        sections = [
            .attackSummary(AttackSummary(verdict: Verdict(heldout.summary), threatModel: tm, dataset: report.dataset.name,
                                         heldout: heldout.summary, heldoutCount: heldout.victims.count)),
            .threatModel(ThreatFacts(summary: tm.summary, attack: tm, learnedStepSizes: report.poison.learnedStepSizes,
                                     atlas: tm.atlas)),
            .headline(Headline(heldout: heldout.summary, heldoutCount: heldout.victims.count,
                               worstOtherClass: heldout.summary.worstOtherClassDrop.map { (report.className($0.classIndex), $0.drop) },
                               others: others)),
        ]
        if let oracle = heldout.summary.oracle {
            var rows: [(name: String, comparison: OracleComparison)] = [("Poison, held-out victims", oracle)]
            if let foreign = report.results.foreign?.summary.oracle { rows.append(("Poison, foreign-recipe victims", foreign)) }
            for (name, control) in report.sortedBaselines {
                if let comparison = control.summary.oracle { rows.append(("Control: \(name)", comparison)) }
            }
            for defense in report.defenses ?? [] {
                if let comparison = defense.summary.oracle { rows.append(("Poison under \(defense.key)", comparison)) }
            }
            sections.append(.oracle(OracleTable(recipe: report.config["oracle.recipe"], rows: rows)))
        }
        sections += [
            .poison(PoisonFigures(file: report.poison.file, images: report.poison.images,
                                  learnedStepSizes: report.poison.learnedStepSizes, gridPNG: report.poison.gridPNG,
                                  figures: imageNames.compactMap { name in images[name].map { (name, $0) } })),
            .charts(AttackCharts(classes: classes, heldout: heldout, meanConfusion: report.meanHeldoutConfusion,
                                 baselines: baselines)),
            .perClass(classes, set: "held-out"),
            .victims(report.results.namedSets.flatMap { set in set.set.victims.map { (set.name, $0) } }),
            .baselines(baselines),
        ]
        if let robustness = report.robustness, !robustness.isEmpty {
            sections.append(.robustness(robustness.keys.sorted().compactMap { key in robustness[key].map { (key, $0) } }))
        }
        if let defenses = report.defenses, !defenses.isEmpty {
            func row(_ key: String, _ description: String, accepted: Int, summary: VictimSetSummary,
                     controls: [String: VictimSetSummary], detection: DetectionReport? = nil) -> DefenseRow {
                DefenseRow(defense: key, description: description, accepted: accepted, victims: heldout.victims.count,
                           summary: summary, worstClass: summary.worstOtherClassDrop.map { report.className($0.classIndex) },
                           bestControl: controls.filter { $0.key != "no_poison" }.max { $0.value.after.asr.mean < $1.value.after.asr.mean }
                               .map { ($0.key, $0.value.after.asr) }, detection: detection)
            }
            let undefended = row("none", "The poison's own update, undefended.", accepted: heldout.victims.count,
                                 summary: heldout.summary, controls: report.baselines.mapValues(\.summary))
            sections.append(.defenses([undefended] + defenses.map {
                row($0.key, $0.description, accepted: $0.accepted, summary: $0.summary, controls: $0.controls, detection: $0.detection)
            }))
        }
        sections.append(.reproduce(Reproduction(
            seed: report.run.seed, amnesiaVersion: report.run.amnesiaVersion, created: report.run.created,
            dataset: (report.dataset.name, report.normalization.mean.map(Double.init), report.normalization.std.map(Double.init)),
            config: report.config, timings: report.run.timingsSeconds)))
    }

    /// An audit's page.
    public init(_ audit: AuditReport) {
        let names = (0..<audit.matrixSize).map(audit.className)
        let audited: (Int, Int) -> AuditPair? = { k, t in
            audit.pair(forget: k, target: t).flatMap { $0.asr.count > 0 ? $0 : nil }
        }
        let ranked = audit.pairs.filter { $0.asr.count > 0 }.sorted { $0.asr.mean > $1.asr.mean }
            .map { RankedPair(forget: audit.className($0.forget), target: audit.className($0.target), pair: $0) }
        kind = "Amnesia robustness audit"
        name = audit.run.name
        schema = audit.schema
        source = nil
        sections = [
            .auditSummary(ranked: ranked),
            .threatModel(ThreatFacts(summary: ReportPage.auditThreatWords, attack: nil, learnedStepSizes: [],
                                     atlas: ThreatModel.atlasTechniques)),
            .matrix(VulnerabilityMatrix(names: names, cells: names.indices.map { k in
                names.indices.map { t in k == t ? nil : audited(k, t) }
            })),
        ]
        // One matrix per defense, beside the undefended one.
        for key in audit.defenseKeys {
            sections.append(.matrix(VulnerabilityMatrix(names: names, cells: names.indices.map { k in
                names.indices.map { t in k == t ? nil : audited(k, t)?.defended(key) }
            }, defense: key)))
        }
        if audit.hasWhiteBox { sections.append(.attackerRange(AttackerRange(rows: ranked))) }
        if !ranked.isEmpty { sections.append(.rankedPairs(ranked)) }
        sections.append(.reproduce(Reproduction(seed: audit.run.seed, amnesiaVersion: audit.run.amnesiaVersion,
                                                created: audit.run.created, dataset: nil, config: audit.config,
                                                timings: audit.run.timingsSeconds)))
    }

    /// The threat model of an audit, in plain words.
    static let auditThreatWords = "For every audited pair K → T, an attacker supplies synthetic images and a step size "
        + "so that one gradient-descent step on them (e.g. a fine-tuning update) makes the classifier predict "
        + "class K as class T while keeping the other classes. The attacker knows the weight distribution "
        + "(architecture, data, training recipe) but not the exact weights: the poison is crafted on a crafting "
        + "zoo and scored on held-out victims it never saw. A high ASR with a small drop means the pair is "
        + "easy to force quietly."
}

extension ReportPage {
    /// A distillation report's page: the setting and accuracy beside the baselines, the
    /// distilled images, per-class accuracy and what it takes to reproduce the run.
    public init(_ report: DistillReport, images: [String: Data] = [:]) {
        let set = report.headlineSet
        let summary = set.summary
        let count = set.victims.count
        let networks = report.headline == "known" ? "the fixed network" : "\(count) held-out networks never used while distilling"
        let distilled = DistillationRow(name: "distilled", description: "The distilled images, by their learned steps.",
                                        stepSizes: report.poison.learnedStepSizes, before: summary.before.accuracy,
                                        after: summary.after.accuracy)
        let baselines = report.baselines.keys.sorted().compactMap { key in
            report.baselines[key].map { b in
                DistillationRow(name: key, description: b.description, stepSizes: [b.stepSize],
                                before: b.summary.before.accuracy, after: b.summary.after.accuracy)
            }
        }
        var others: [(label: String, accuracy: Stat)] = []
        if report.headline == "known" {
            others.append(("Held-out networks (\(report.results.heldout.victims.count), other initializations)",
                           report.results.heldout.summary.after.accuracy))
        }
        if let crafting = report.results.crafting {
            others.append(("Crafting networks (\(crafting.victims.count), seen while distilling)", crafting.summary.after.accuracy))
        }
        if let published = report.publishedEvaluation {
            let seeds = "seeds " + published.seeds.map(String.init).joined(separator: ", ")
            others.append(("Papers' protocol, distilled set (\(published.recipe); \(seeds))", published.distilledSummary))
            for (key, stat) in published.controlSummaries.sorted(by: { $0.key < $1.key }) {
                others.append(("Papers' protocol, control \(key)", stat))
            }
            for point in published.curve.dropLast() {
                others.append(("Papers' protocol, learning curve: the set at iteration \(point.iteration)", point.summary))
            }
            if let line = published.extrapolation {
                others.append(("Papers' protocol, EXTRAPOLATED (not measured) to \(line.iterations) iterations: a line on ln(iteration) through iterations \(line.fittedTo.map(String.init).joined(separator: ", "))",
                               Stat([line.accuracy])))
            }
        }
        let classes = report.classNames.indices.map { c in
            ClassRow(index: c, name: report.classNames[c], mark: "",
                     before: c < summary.before.perClass.count ? summary.before.perClass[c] : Stat([]),
                     after: c < summary.after.perClass.count ? summary.after.perClass[c] : Stat([]))
        }
        kind = "Amnesia distillation report"
        name = report.run.name
        schema = report.schema
        source = "report.json"
        sections = [
            .distillation(DistillationSummary(setting: report.setting, settingDescription: report.settingDescription,
                                              dataset: report.dataset, networks: networks, images: report.poison.images,
                                              steps: report.steps, epochs: report.epochs, rows: [distilled] + baselines,
                                              others: others, craftSeconds: report.run.timingsSeconds["craft"])),
            .poison(PoisonFigures(heading: "Distilled data", file: report.poison.file, images: report.poison.images,
                                  learnedStepSizes: report.poison.learnedStepSizes, gridPNG: report.poison.gridPNG,
                                  figures: images.keys.sorted().compactMap { name in images[name].map { (name, $0) } })),
            .perClass(classes, set: report.headline == "known" ? "fixed network" : "held-out"),
            .reproduce(Reproduction(seed: report.run.seed, amnesiaVersion: report.run.amnesiaVersion, created: report.run.created,
                                    dataset: (report.dataset, report.mean, report.std), config: report.config,
                                    timings: report.run.timingsSeconds)),
        ]
    }
}
