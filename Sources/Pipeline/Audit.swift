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
/// the audit folder under its own name, so an interrupted audit resumes where it stopped,
/// and N tasks sharing the folder (`Shard`) can each run their share of the pairs; the
/// folder's plan (`audit-plan.json`) lets `merge` build the report from it alone.
public struct Audit: Sendable {
    public let zoo: Zoo
    /// The attack every pair runs, with its own forget and target.
    public let template: AttackSpec
    public let pairs: [(forget: Int, target: Int)]
    public let directory: URL
    /// Defenses the held-out victims deploy: each pair is also scored under each (they act
    /// at evaluation only, so they are not part of the audit folder's hash).
    public let defenses: [DefenseSpec]
    /// The command line that runs this audit (no shard or thread options), recorded in the
    /// plan so a merge can say how to fill the pairs still missing.
    public var command: [String]?
    /// Also craft each pair on every held-out victim's own weights (`knowledge: fixed` on
    /// it) and score it there: the white-box bound beside the gray-box cell and the oracle.
    /// It adds one crafting per pair and held-out victim (one for `audit --model`).
    /// Not part of the folder's hash: turning it on later adds it to the saved pairs.
    public var whiteBox = false

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

    /// Writes the folder's plan and runs this shard's pairs not yet saved (every pair when
    /// `shard` is whole); returns the report over every complete pair of the plan, or nil
    /// when `shouldStop` interrupted it.
    ///
    /// Every pair is crafted from the template's seed and its own K and T, whichever task
    /// runs it, so its saved result is the same bytes however the audit is sharded.
    public func run(shard: Shard = .whole, workers: Int = 2, shouldStop: @Sendable () -> Bool = { false },
                    progress: (String) -> Void = { _ in }) throws -> AuditReport? {
        let zooLock = try zoo.readLock(purpose: "auditing this zoo")
        // One task alone holds the folder; shards share it, each writing only its own pairs.
        let lock = try FolderLock(directory, shard == .whole ? .exclusive : .shared, purpose: "auditing")
        defer { withExtendedLifetime((zooLock, lock)) {} }
        try prepare()
        let start = Date()
        let keys = defenses.map(\.key)
        var loaded: (data: PreparedData, heldout: [EvaluatedVictim])?
        for (index, (k, t)) in pairs.enumerated() where shard.owns(index) {
            // A saved pair is reused when it was scored under every defense asked for now
            // (and has its white-box bound when one is asked for).
            if Self.savedPair(at: Self.pairURL(directory, k, t), forget: k, target: t, defenses: keys, whiteBox: whiteBox) != nil {
                continue
            }
            if shouldStop() { return nil }
            if loaded == nil {
                let data = try zoo.loadData()
                loaded = (data, try zoo.evaluated(zoo.heldout, as: .heldout))
            }
            guard let (data, heldout) = loaded else { continue }
            var spec = template
            (spec.name, spec.forget, spec.target) = ("\(template.name)-\(k)-\(t)", String(k), String(t))
            let attack = try AttackRun(spec: spec, zoo: zoo, reportsRoot: directory.appendingPathComponent("runs"), data: data)
            guard let poison = try Self.poison(of: attack, workers: workers, shouldStop: shouldStop) else { return nil }
            var plan = EvaluationPlan(poison: poison, heldout: heldout)
            plan.defenses = try defenseUpdates(defenses, data: data, seed: spec.seed)
            plan.oracle = try zoo.oracle(classifier: attack.classifier, data: data, forget: k, target: t, seed: spec.seed,
                                         workers: workers, progress: progress)
            let scored = try plan.run(classifier: attack.classifier, images: data.test, workers: workers)
            var bound: AuditWhiteBox?
            if whiteBox {
                guard let scored = try whiteBoxResults(spec, heldout: heldout, data: data, oracle: plan.oracle,
                                                       workers: workers, shouldStop: shouldStop) else { return nil }
                bound = AuditWhiteBox(scored, forget: k)
            }
            let pair = AuditPair(forget: k, target: t, summary: scored.heldout.summary,
                                 defenses: defenses.isEmpty ? nil : scored.defenses.map {
                                     AuditDefense(key: $0.key, summary: $0.poison.victims.summary)
                                 }, whiteBox: bound)
            try AtomicFile.write(CanonicalJSON.encode(pair, pretty: true), to: Self.pairURL(directory, k, t))
            let elapsed = Date().timeIntervalSince(start)
            let white = bound.map { ", white-box ASR \(String(format: "%.3f", $0.asr.mean))" } ?? ""
            let oracle = pair.oracle.map { ", oracle ASR \(String(format: "%.3f", $0.oracleASR.mean))" } ?? ""
            progress("pair \(index + 1)/\(pairs.count) \(k)→\(t): held-out ASR \(String(format: "%.3f", pair.asr.mean))\(white)\(oracle), other-class drop \(String(format: "%.3f", pair.otherAccuracyDrop.mean)) (\(Int(elapsed))s)")
        }
        return try Self.merge(directory, timings: ["audit": Date().timeIntervalSince(start)]).report
    }

    /// The poison of `attack`, crafted once: a pair saved without something asked for now is
    /// scored again from its poison file. Nil when `shouldStop` interrupted the crafting.
    private static func poison(of attack: AttackRun, workers: Int, shouldStop: @Sendable () -> Bool) throws -> PoisonSet? {
        FileManager.default.fileExists(atPath: attack.poisonURL.path) ? try PoisonSet(contentsOf: attack.poisonURL)
            : try attack.craft(resume: true, workers: workers, shouldStop: shouldStop)?.poison
    }

    /// Each held-out victim stepped on the pair's poison crafted on its own weights alone
    /// (`spec` as `knowledge: fixed` on it), read against the same `oracle` as the gray-box
    /// cell. Nil when `shouldStop` interrupted a crafting.
    private func whiteBoxResults(_ spec: AttackSpec, heldout: [EvaluatedVictim], data: PreparedData, oracle: Oracle?,
                                 workers: Int, shouldStop: @Sendable () -> Bool) throws -> [VictimResult]? {
        var results: [VictimResult] = []
        for victim in heldout {
            var known = spec
            (known.name, known.knowledge, known.fixedVictim) = (spec.name + "-white-box", .fixed, victim.id)
            let attack = try AttackRun(spec: known, zoo: zoo, reportsRoot: directory.appendingPathComponent("runs"),
                                       data: data, whiteBoxOnHeldout: true)
            guard let poison = try Self.poison(of: attack, workers: workers, shouldStop: shouldStop) else { return nil }
            var plan = EvaluationPlan(poison: poison, heldout: [victim])
            plan.oracle = oracle
            results += try plan.run(classifier: attack.classifier, images: data.test, workers: workers).heldout.victims
        }
        return results
    }

    /// Writes (or extends) the folder's plan, what `merge` reads, without running a pair: the
    /// pairs of every audit run into this folder so far (sorted), the defenses and command
    /// of this one. Every task of one audit writes the same bytes; the update holds a lease
    /// lock (safe on NFS) so audits of other pairs started together do not drop each other's.
    public func prepare() throws {
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("pairs"), withIntermediateDirectories: true)
        let lock = try LeaseLock(directory.appendingPathComponent("audit-plan.lease").path, purpose: "updating the audit plan")
        defer { withExtendedLifetime(lock) {} }
        let url = directory.appendingPathComponent(AuditPlan.fileName)
        let earlier = (try? JSONDecoder().decode(AuditPlan.self, from: Data(contentsOf: url)))?.pairs ?? []
        let keys = defenses.map(\.key)
        var config = ["zoo": zoo.name]
        if !defenses.isEmpty { config["defenses"] = keys.joined(separator: "; ") }
        if let json = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(template)) {
            for (key, value) in flattenedConfig(json, skipping: ["name", "forget", "target"]) { config["attack.\(key)"] = value }
        }
        let all = Set(earlier.filter { $0.count == 2 } + pairs.map { [$0.forget, $0.target] }).sorted { $0.lexicographicallyPrecedes($1) }
        config["pairs"] = String(all.count)
        if whiteBox { config["white_box"] = "each pair also crafted on each held-out victim's own weights" }
        // The recipe the crafting victims were trained with: what the gray-box attacker knows.
        config["zoo.crafting"] = String(zoo.crafting.count)
        for (key, value) in flattenedConfig(try JSONSerialization.jsonObject(with: JSONEncoder().encode(zoo.manifest.spec.training)),
                                            skipping: []) {
            config["zoo.training.\(key)"] = value
        }
        let plan = AuditPlan(classNames: zoo.manifest.classNames, pairs: all, defenses: keys, whiteBox: whiteBox,
                             seed: template.seed, config: config, command: command)
        try AtomicFile.write(CanonicalJSON.encode(plan, pretty: true), to: url)
    }

    static func pairURL(_ directory: URL, _ k: Int, _ t: Int) -> URL { directory.appendingPathComponent("pairs/\(k)-\(t).json") }

    /// The pair saved at `url` if it is complete and valid for K→T under every defense in
    /// `defenses`, with its white-box bound when `whiteBox` asks for one.
    private static func savedPair(at url: URL, forget k: Int, target t: Int, defenses: [String], whiteBox: Bool) -> AuditPair? {
        guard let saved = try? JSONDecoder().decode(AuditPair.self, from: Data(contentsOf: url)),
              saved.forget == k, saved.target == t, !whiteBox || saved.whiteBox != nil,
              Set(defenses).isSubset(of: saved.defenses?.map(\.key) ?? []) else { return nil }
        return saved
    }

    /// What a merge found: the report over the complete pairs and the pairs still missing.
    public struct Merged: Sendable {
        public let report: AuditReport
        public let missing: [(forget: Int, target: Int)]
        /// The command that runs the missing pairs, when the plan recorded how the audit was started.
        public let fillCommand: String?
    }

    /// Builds the report of the audit folder `directory` from its plan and whatever pairs are
    /// complete in it (shards may have run anywhere), in the plan's order.
    /// - Throws: `ZooError`-style errors naming the folder when it has no readable plan.
    public static func merge(_ directory: URL, timings: [String: Double] = [:]) throws -> Merged {
        let start = Date()
        let planURL = directory.appendingPathComponent(AuditPlan.fileName)
        guard let bytes = try? Data(contentsOf: planURL) else {
            throw SpecError(file: planURL.path, "no audit plan here: pass the audit folder an `amnesia audit` run wrote (reports/audit-<zoo>-<hash>)")
        }
        let plan: AuditPlan
        do { plan = try JSONDecoder().decode(AuditPlan.self, from: bytes) } catch {
            throw SpecError(file: planURL.path, "not a readable audit plan (\(AuditPlan.schemaID)): \(error); run the audit command again to rewrite it")
        }
        var found: [AuditPair] = []
        var missing: [(forget: Int, target: Int)] = []
        for pair in plan.pairs where pair.count == 2 {
            if let saved = savedPair(at: pairURL(directory, pair[0], pair[1]), forget: pair[0], target: pair[1],
                                     defenses: plan.defenses, whiteBox: plan.whiteBox ?? false) {
                found.append(saved)
            } else {
                missing.append((pair[0], pair[1]))
            }
        }
        var allTimings = timings
        if allTimings.isEmpty { allTimings["merge"] = Date().timeIntervalSince(start) }
        var config = plan.config
        if !missing.isEmpty { config["missing_pairs"] = missing.map { "\($0.forget):\($0.target)" }.joined(separator: ",") }
        let report = AuditReport(run: RunInfo(name: directory.lastPathComponent, created: RunInfo.timestamp(Date()),
                                              amnesiaVersion: amnesiaVersion, seed: plan.seed, timingsSeconds: allTimings),
                                 classNames: plan.classNames, pairs: found, config: config)
        let fill = missing.isEmpty ? nil : plan.command.map { command in
            (command + ["--pairs", missing.map { "\($0.forget):\($0.target)" }.joined(separator: ",")]).map(shellQuoted).joined(separator: " ")
        }
        return Merged(report: report, missing: missing, fillCommand: fill)
    }

    /// A word as a POSIX shell reads it back unchanged.
    private static func shellQuoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=,@%+".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// An audit folder's `audit-plan.json`: everything a merge needs besides the pair files
/// (which pairs, under which defenses, the report's config and seed, and how to run it).
struct AuditPlan: Codable {
    static let schemaID = "amnesia.audit-plan/1"
    static let fileName = "audit-plan.json"
    var schema = AuditPlan.schemaID
    var classNames: [String]
    /// The pairs as [K, T], in the audit's order.
    var pairs: [[Int]]
    /// The keys of the defenses every pair must be scored under.
    var defenses: [String]
    /// Every pair must carry its white-box bound (nil in plans written before it existed).
    var whiteBox: Bool?
    var seed: UInt64
    var config: [String: String]
    var command: [String]?

    enum CodingKeys: String, CodingKey {
        case schema, classNames = "class_names", pairs, defenses, whiteBox = "white_box", seed, config, command
    }
}
