import ArgumentParser
import Datasets
import Dispatch
import Distillation
import Evaluation
import Foundation
import Reports
import Synchronization
import Victims

/// Set when the user presses Ctrl-C: long loops checkpoint and stop.
let interrupted = Atomic<Bool>(false)

/// Turns SIGINT into a request to stop at the next safe point; a second Ctrl-C exits.
func catchInterrupts() -> any DispatchSourceSignal {
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
    source.setEventHandler {
        if interrupted.exchange(true, ordering: .relaxed) { exit(130) }
        Console.shared.say("\ninterrupted: writing a checkpoint (Ctrl-C again to quit at once)")
    }
    source.resume()
    return source
}

/// Options shared by the commands that craft.
struct CraftOptions: ParsableArguments {
    @Option(name: .customLong("victims-dir"), help: "Folder holding the zoos.")
    var victimsDir = "victims"
    @Option(name: .customLong("reports-dir"), help: "Folder where run folders are written.")
    var reportsDir = "reports"
    @Flag(help: "Continue an interrupted run from its last checkpoint.")
    var resume = false
    @Option(help: "Override the spec's number of outer iterations.")
    var iterations: Int?
    @Option(help: "Threads (victims are processed side by side, one core each).")
    var workers = ProcessInfo.processInfo.activeProcessorCount
}

/// Loads an attack spec, training its zoo if it is missing and the spec names a zoo spec.
func prepareRun(specPath: String, options: CraftOptions) throws -> AttackRun {
    var spec = try AttackSpec.load(URL(fileURLWithPath: specPath))
    if let iterations = options.iterations { spec.iterations = iterations }
    let root = URL(fileURLWithPath: options.victimsDir)
    let zoo: Zoo
    if let existing = try? openZoo(spec.zoo, root: root) {
        zoo = existing
        if let zooSpec = spec.zooSpec, let wanted = try? ZooSpec.load(URL(fileURLWithPath: zooSpec)), wanted == existing.manifest.spec,
           existing.manifest.victims.count < wanted.crafting + wanted.heldout {
            return try AttackRun(spec: spec, zoo: trainZoo(wanted, root: root, workers: options.workers),
                                 reportsRoot: URL(fileURLWithPath: options.reportsDir))
        }
    } else if let zooSpec = spec.zooSpec {
        zoo = try trainZoo(ZooSpec.load(URL(fileURLWithPath: zooSpec)), root: root, workers: options.workers)
    } else {
        throw ZooError("zoo '\(spec.zoo)' does not exist under \(root.path); train it with `amnesia victims train SPEC` or set zoo_spec in \(specPath)")
    }
    return try AttackRun(spec: spec, zoo: zoo, reportsRoot: URL(fileURLWithPath: options.reportsDir))
}

/// Crafts with progress lines; nil when interrupted (a checkpoint was written).
func craftWithProgress(_ run: AttackRun, options: CraftOptions) throws -> (poison: PoisonSet, seconds: Double)? {
    let console = Console.shared
    let spec = run.spec
    console.say("crafting \(run.name): forget class \(run.forget) (\(run.data.info.classNames[run.forget])) → \(run.target) (\(run.data.info.classNames[run.target])), \(spec.knowledge.rawValue) knowledge, \(spec.imagesPerClass * run.data.info.numClasses * spec.steps) images, \(spec.iterations) iterations")
    let signals = catchInterrupts()
    defer { signals.cancel() }
    let result = try run.craft(resume: options.resume, workers: options.workers,
                               shouldStop: { interrupted.load(ordering: .relaxed) }) { p in
        let eta = Double(p.iterations - p.iteration) * p.secondsPerIteration
        console.progress("craft", interval: 5, "  iteration \(p.iteration)/\(p.iterations) loss \(String(format: "%.4f", p.loss)) step size \(p.stepSizes.map { String(format: "%.4f", $0) }.joined(separator: ",")) \(String(format: "%.0f", p.secondsPerIteration * 1000)) ms/it, ETA \(formatDuration(eta))")
    }
    if result == nil {
        console.say("stopped; the checkpoint is in \(run.directory.path). Continue with --resume.")
        throw ExitCode(130)
    }
    return result
}

struct Craft: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Craft a poison set from an attack spec.",
        discussion: """
            Writes reports/<run>/poison.safetensors (images, labels, learned step sizes), \
            poison.png and a checkpoint every 50 iterations. Ctrl-C stops at the next \
            iteration after writing a checkpoint; --resume continues from it.
            Example: amnesia craft attacks/fashion-tshirt-to-trouser.yaml
            """)
    @Argument(help: "An attack spec (YAML).") var spec: String
    @OptionGroup var options: CraftOptions

    func run() throws {
        let run = try prepareRun(specPath: spec, options: options)
        guard let (_, seconds) = try craftWithProgress(run, options: options) else { return }
        print("poison set: \(run.poisonURL.path) (crafted in \(formatDuration(seconds)))")
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the zoo if missing, craft, evaluate and write the report.",
        discussion: "Example: amnesia run attacks/fashion-tshirt-to-trouser.yaml")
    @Argument(help: "An attack spec (YAML).") var spec: String
    @OptionGroup var options: CraftOptions

    func run() throws {
        let start = Date()
        let run = try prepareRun(specPath: spec, options: options)
        let zooSeconds = Date().timeIntervalSince(start)
        guard let (poison, craftSeconds) = try craftWithProgress(run, options: options) else { return }
        let report = try run.evaluate(poison, workers: options.workers,
                                      timings: ["zoo": zooSeconds, "craft": craftSeconds]) { Console.shared.say($0) }
        try run.write(report)
        printSummary(report, directory: run.directory, totalSeconds: Date().timeIntervalSince(start))
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate any poison set (Amnesia's format) on a zoo's held-out victims.",
        discussion: """
            The poison file is safetensors with images [M,C,H,W] F32 (normalized space), labels [M] \
            I64, lrs [steps×epochs] F32 and metadata dataset, mean, std, K, T, steps, epochs.
            Example: amnesia evaluate --poison reports/<run>/poison.safetensors --zoo fashion-lenet
            """)
    @Option(help: "The poison set (safetensors).") var poison: String
    @Option(help: "The zoo's name under --victims-dir, or its path.") var zoo: String
    @OptionGroup var options: CraftOptions

    func run() throws {
        let start = Date()
        let url = URL(fileURLWithPath: poison)
        let set = try PoisonSet(contentsOf: url)
        let zoo = try openZoo(zoo, root: URL(fileURLWithPath: options.victimsDir))
        let classes = zoo.manifest.classNames.count
        var spec = AttackSpec(name: "evaluate-" + url.deletingPathExtension().lastPathComponent, zoo: zoo.name,
                              forget: String(set.metadata.forget), target: String(set.metadata.target))
        spec.imagesPerClass = max(1, set.imagesPerStep / max(classes, 1))
        (spec.steps, spec.epochs, spec.seed, spec.iterations) = (set.steps, set.epochs, set.metadata.seed, 0)
        let run = try AttackRun(spec: spec, zoo: zoo, reportsRoot: URL(fileURLWithPath: options.reportsDir), evaluationOnly: true)
        try FileManager.default.createDirectory(at: run.directory, withIntermediateDirectories: true)
        try AtomicFile.write(Data(contentsOf: url), to: run.poisonURL)
        try AtomicFile.write(set.grid().encoded(), to: run.directory.appendingPathComponent("poison.png"))
        let report = try run.evaluate(set, workers: options.workers) { Console.shared.say($0) }
        try run.write(report)
        printSummary(report, directory: run.directory, totalSeconds: Date().timeIntervalSince(start))
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-render report.md, report.html and victims.csv from a run's report.json.")
    @Argument(help: "A run folder, e.g. reports/fashion-tshirt-to-trouser-1a2b3c4d.") var runDirectory: String

    func run() throws {
        try ReportWriter.rerender(directory: URL(fileURLWithPath: runDirectory))
        print("report: \(URL(fileURLWithPath: runDirectory).appendingPathComponent(ReportWriter.htmlName).path)")
    }
}

/// The headline numbers and where the report is.
func printSummary(_ report: AttackReport, directory: URL, totalSeconds: Double) {
    let s = report.results.heldout.summary
    func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }
    let tm = report.threatModel
    print("""
        \(tm.forgetName) → \(tm.targetName) on \(report.results.heldout.victims.count) held-out victims:
          ASR \(pct(s.before.asr.mean)) → \(pct(s.after.asr.mean)) ± \(pct(s.after.asr.std)) (min \(pct(s.after.asr.min)), max \(pct(s.after.asr.max)))
          other classes' accuracy \(pct(s.before.otherAccuracy.mean)) → \(pct(s.after.otherAccuracy.mean)) (drop \(pct(s.otherAccuracyDrop.mean)))
        """)
    for (name, baseline) in report.baselines.sorted(by: { $0.key < $1.key }) {
        print("  control \(name): ASR \(pct(baseline.summary.after.asr.mean)), other classes \(pct(baseline.summary.after.otherAccuracy.mean))")
    }
    print("finished in \(formatDuration(totalSeconds)); report: \(directory.appendingPathComponent(ReportWriter.htmlName).path)")
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Run a cheaper attack for every K→T pair and write the vulnerability matrix.",
        discussion: """
            Each pair is crafted on the zoo's crafting victims and scored on its held-out victims \
            (ASR and the other classes' accuracy drop). Finished pairs are saved as they complete: \
            re-running the same command resumes. The matrix is written as audit.json, audit.md and \
            audit.html (a heatmap) in reports/audit-<zoo>-<hash>/.
            All 90 pairs of a 10-class zoo take about 45 minutes on 2 cores at the default budget.
            Example: amnesia audit --zoo fashion-lenet --pairs 0:1,0:6 --iterations 200
            """)
    @Option(help: "The zoo's name under --victims-dir, or its path.") var zoo: String
    @Option(help: "Comma-separated K:T pairs (class indices); all 90 ordered pairs when absent.")
    var pairs: String?
    @Option(help: "Attack spec whose settings every pair uses (its forget/target are ignored); the default attack by default.")
    var spec = "attacks/fashion-tshirt-to-trouser.yaml"
    @Option(help: "Outer iterations per pair (cheaper than a full attack; about 30 s a pair on 2 cores).") var iterations = 300
    @Option(name: .customLong("victims-dir"), help: "Folder holding the zoos.") var victimsDir = "victims"
    @Option(name: .customLong("reports-dir"), help: "Folder where the audit folder is written.") var reportsDir = "reports"
    @Option(help: "Threads (victims side by side, one core each).") var workers = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        var template = try AttackSpec.load(URL(fileURLWithPath: spec))
        template.iterations = iterations
        template.zoo = zoo
        template.optimizer.decayEvery = max(1, iterations * 2 / 5)
        let zoo = try openZoo(zoo, root: URL(fileURLWithPath: victimsDir))
        let parsed = try pairs.map { text in
            try text.split(separator: ",").map { item -> (forget: Int, target: Int) in
                let parts = item.split(separator: ":").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 2 else { throw ValidationError("--pairs takes K:T items like 0:1,0:6; got '\(item)'") }
                return (parts[0], parts[1])
            }
        }
        let audit = try Audit(zoo: zoo, template: template, pairs: parsed, reportsRoot: URL(fileURLWithPath: reportsDir))
        Console.shared.say("auditing \(audit.pairs.count) pairs of zoo '\(zoo.name)' with \(iterations) iterations each into \(audit.directory.path)")
        let signals = catchInterrupts()
        defer { signals.cancel() }
        guard let report = try audit.run(workers: workers, shouldStop: { interrupted.load(ordering: .relaxed) },
                                         progress: { Console.shared.say("  " + $0) }) else {
            Console.shared.say("stopped; finished pairs are kept. Run the same command again to resume.")
            throw ExitCode(130)
        }
        try ReportWriter.write(audit: report, to: audit.directory)
        let asrs = report.pairs.map(\.asr.mean).sorted()
        let median = asrs.isEmpty ? 0 : (asrs[(asrs.count - 1) / 2] + asrs[asrs.count / 2]) / 2
        print("median held-out ASR over \(asrs.count) pairs: \(String(format: "%.3f", median))")
        print("report: \(audit.directory.appendingPathComponent(ReportWriter.auditHTMLName).path)")
    }
}
