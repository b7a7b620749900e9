import Autodiff
import Datasets
import Distillation
import Evaluation
import Formats
import Foundation
import Poisoning
import Results
import Specs
import Victims

/// The vulnerability matrix of a zoo: a cheaper attack for every K→T pair (or a chosen
/// list), each scored on the held-out victims. Every finished pair is saved at once in
/// the audit folder, so an interrupted audit resumes where it stopped.
public struct Audit: Sendable {
    public let zoo: Zoo
    /// The attack every pair runs, with its own forget and target.
    public let template: AttackSpec
    public let pairs: [(forget: Int, target: Int)]
    public let directory: URL
    /// Defenses the held-out victims deploy: each pair is also scored under each (they act
    /// at evaluation only, so they are not part of the audit folder's hash).
    public let defenses: [DefenseSpec]

    /// - Parameters:
    ///   - pairs: the K→T pairs; all ordered pairs of distinct classes when nil.
    public init(zoo: Zoo, template: AttackSpec, pairs: [(forget: Int, target: Int)]?, reportsRoot: URL,
                defenses: [DefenseSpec] = []) throws {
        // Checked before the template is hashed: a non-finite setting cannot be encoded.
        if let problem = template.problem { throw SpecError(file: template.name, problem) }
        let classes = zoo.manifest.classNames.count
        let all = pairs ?? (0..<classes).flatMap { k in (0..<classes).filter { $0 != k }.map { (k, $0) } }
        for (k, t) in all where k == t || !(0..<classes).contains(k) || !(0..<classes).contains(t) {
            throw SpecError(file: "audit", "pair \(k)→\(t) is not two different classes among 0…\(classes - 1)")
        }
        self.zoo = zoo
        self.template = template
        self.pairs = all
        self.defenses = defenses
        let hash = SHA256.hex(try AttackRun.resolvedConfig(spec: template, zoo: zoo)).prefix(8)
        directory = reportsRoot.appendingPathComponent("audit-\(zoo.name)-\(hash)")
    }

    func pairURL(_ k: Int, _ t: Int) -> URL { directory.appendingPathComponent("pairs/\(k)-\(t).json") }

    /// Runs the pairs not yet saved; returns nil when `shouldStop` interrupted it.
    public func run(workers: Int = 2, shouldStop: @Sendable () -> Bool = { false },
                    progress: (String) -> Void = { _ in }) throws -> AuditReport? {
        let zooLock = try zoo.readLock(purpose: "auditing this zoo")
        let lock = try FolderLock(directory, .exclusive, purpose: "auditing")
        defer { withExtendedLifetime((zooLock, lock)) {} }
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("pairs"), withIntermediateDirectories: true)
        let start = Date()
        let data = try zoo.loadData()
        let heldout = try zoo.evaluated(zoo.heldout, as: .heldout)
        var results: [AuditPair] = []
        let keys = defenses.map(\.key)
        for (index, (k, t)) in pairs.enumerated() {
            // A saved pair is reused when it was scored under every defense asked for now.
            if let saved = try? JSONDecoder().decode(AuditPair.self, from: Data(contentsOf: pairURL(k, t))),
               Set(keys).isSubset(of: saved.defenses?.map(\.key) ?? []) {
                results.append(saved)
                continue
            }
            if shouldStop() { return nil }
            var spec = template
            (spec.name, spec.forget, spec.target) = ("\(template.name)-\(k)-\(t)", String(k), String(t))
            let attack = try AttackRun(spec: spec, zoo: zoo, reportsRoot: directory.appendingPathComponent("runs"), data: data)
            // The pair's poison is crafted once: a pair saved without a defense asked for now
            // is scored again from its poison file.
            let poison = FileManager.default.fileExists(atPath: attack.poisonURL.path) ? try PoisonSet(contentsOf: attack.poisonURL)
                : try attack.craft(resume: true, workers: workers, shouldStop: shouldStop)?.poison
            guard let poison else { return nil }
            var plan = EvaluationPlan(poison: poison, heldout: heldout)
            plan.defenses = try defenseUpdates(defenses, data: data, seed: spec.seed)
            plan.oracle = try zoo.oracle(classifier: attack.classifier, data: data, forget: k, target: t, seed: spec.seed,
                                         workers: workers, progress: progress)
            let scored = try plan.run(classifier: attack.classifier, images: data.test, workers: workers)
            let pair = AuditPair(forget: k, target: t, summary: scored.heldout.summary,
                                 defenses: defenses.isEmpty ? nil : scored.defenses.map {
                                     AuditDefense(key: $0.key, summary: $0.poison.victims.summary)
                                 })
            try AtomicFile.write(JSONEncoder().encode(pair), to: pairURL(k, t))
            results.append(pair)
            let elapsed = Date().timeIntervalSince(start)
            progress("pair \(index + 1)/\(pairs.count) \(k)→\(t): held-out ASR \(String(format: "%.3f", pair.asr.mean)), other-class drop \(String(format: "%.3f", pair.otherAccuracyDrop.mean)) (\(Int(elapsed))s)")
        }
        var config = ["zoo": zoo.name, "pairs": String(pairs.count)]
        if !defenses.isEmpty { config["defenses"] = keys.joined(separator: "; ") }
        if let json = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(template)) {
            for (key, value) in flattenedConfig(json, skipping: ["name", "forget", "target"]) { config["attack.\(key)"] = value }
        }
        return AuditReport(run: RunInfo(name: directory.lastPathComponent, created: RunInfo.timestamp(Date()),
                                        amnesiaVersion: amnesiaVersion, seed: template.seed,
                                        timingsSeconds: ["audit": Date().timeIntervalSince(start)]),
                           classNames: zoo.manifest.classNames, pairs: results, config: config)
    }
}
