import ArgumentParser
import Datasets
import Defaults
import Dispatch
import Distillation
import Evaluation
import Formats
import Foundation
import ONNX
import Pipeline
import Poisoning
import Reports
import Results
import Specs
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

/// Where zoos are read and reports written, and how many cores to use.
struct FolderOptions: ParsableArguments {
    @Option(name: .customLong("victims-dir"), help: "Folder holding the zoos (how the default is chosen: amnesia --help).")
    var victimsDir = Locations.current.victims
    @Option(name: .customLong("reports-dir"), help: "Folder where run folders are written (how the default is chosen: amnesia --help).")
    var reportsDir = Locations.current.reports
    @Option(parsing: .unconditional, help: "Threads (victims are processed side by side, one core each).")
    var workers = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        try checkFolderOption(victimsDir, option: "--victims-dir", writable: false)
        try checkFolderOption(reportsDir, option: "--reports-dir", writable: true)
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1 (got \(workers))") }
    }
}

/// Defenses the victims deploy, from the command line.
struct DefenseOptions: ParsableArguments {
    @Option(name: .customLong("defense"), help: ArgumentHelp(
        "A defense the victims deploy, scored beside the undefended update (repeatable). Unlike a spec's defenses: the poison is not crafted against it.",
        discussion: "Forms: \(DefenseSpec.forms). Example: --defense gate:max_drop=0.02 --defense dilution:clean=1000"))
    var defenses: [String] = []

    func specs() throws -> [DefenseSpec] { try defenses.map { try DefenseSpec(commandLine: $0) } }
}

/// Options shared by the commands that craft.
struct CraftOptions: ParsableArguments {
    @OptionGroup var folders: FolderOptions
    @Flag(help: "Continue an interrupted run from its last checkpoint.")
    var resume = false
    @Option(parsing: .unconditional, help: "Override the spec's number of outer iterations.")
    var iterations: Int?
    @Option(help: "The dataset's folder for zoos trained by this run (replaces their specs' data_dir; default: the dataset's usual place, e.g. /usr/share/datasets/fashion-mnist).")
    var dataDir: String?

    var victimsDir: String { folders.victimsDir }
    var reportsDir: String { folders.reportsDir }
    var workers: Int { folders.workers }
}

/// Loads an attack spec, training its zoos (the crafting zoo and the foreign-recipe one)
/// if they are missing and the spec names their zoo specs. A command that takes one
/// `objective` refuses a spec with the other before any zoo is trained.
func prepareRun(specPath: String, options: CraftOptions, defenses: [DefenseSpec] = [], objective: ObjectiveKind? = nil) throws -> AttackRun {
    var spec = try loadAttackSpec(specPath)
    switch (objective, spec.objective) {
    case (.forget, .standard):
        throw SpecError(file: specPath, "objective: standard is dataset distillation (scored by accuracy, not ASR); run it with `amnesia distill \(specPath)`")
    case (.standard, .forget):
        throw SpecError(file: specPath, "amnesia distill needs objective: standard (plain distillation); this spec has objective: forget, which `amnesia run` crafts")
    default: break
    }
    if let iterations = options.iterations {
        spec.iterations = iterations
        // The spec was checked as written; the budget bounds other keys (a learning curve's points).
        if let problem = spec.problem { throw SpecError(file: specPath, "with --iterations \(iterations): \(problem)") }
    }
    let root = URL(fileURLWithPath: options.victimsDir)
    let zoo = try openOrTrainZoo(named: spec.zoo, specPath: spec.zooSpec, root: root, options: options, attackSpec: specPath)
    let foreign = try spec.foreignZooSpec.map { path in
        try openOrTrainZoo(named: loadZooSpec(path).name, specPath: path, root: root, options: options, attackSpec: specPath)
    }
    var run = try AttackRun(spec: spec, zoo: zoo, foreignZoo: foreign, reportsRoot: URL(fileURLWithPath: options.reportsDir))
    run.evaluationDefenses = defenses
    return run
}

/// The zoo `name` under `root`: opened, finished if its spec asks for more victims than it
/// has, or trained from `specPath` when it does not exist.
private func openOrTrainZoo(named name: String, specPath: String?, root: URL, options: CraftOptions, attackSpec: String) throws -> Zoo {
    if let existing = try? openZoo(name, root: root) {
        if let specPath, let wanted = try? loadZooSpec(specPath, dataDir: options.dataDir), wanted == existing.manifest.spec,
           existing.manifest.victims.count < wanted.crafting + wanted.heldout {
            return try trainZoo(wanted, root: root, workers: options.workers)
        }
        return existing
    }
    guard let specPath else {
        throw ZooError("zoo '\(name)' does not exist under \(root.path); train it with `amnesia victims train SPEC` or set zoo_spec in \(attackSpec)")
    }
    return try trainZoo(loadZooSpec(specPath, dataDir: options.dataDir), root: root, workers: options.workers)
}

/// Crafts with progress lines after `announce` (the attack's line by default); nil when
/// interrupted (a checkpoint was written).
func craftWithProgress(_ run: AttackRun, options: CraftOptions, locks: AttackRun.Locks? = nil, announce: String? = nil) throws -> (poison: PoisonSet, seconds: Double)? {
    let console = Console.shared
    let spec = run.spec
    console.say(announce ?? "crafting \(run.name): forget class \(run.forget) (\(run.data.info.classNames[run.forget])) → \(run.target) (\(run.data.info.classNames[run.target])), \(spec.knowledge.rawValue) knowledge, \(spec.imagesPerClass * run.data.info.numClasses * spec.steps) images, \(spec.iterations) iterations")
    let signals = catchInterrupts()
    defer { signals.cancel() }
    let result = try run.craft(resume: options.resume, workers: options.workers, locks: locks,
                               shouldStop: { interrupted.load(ordering: .relaxed) }) { p in
        let eta = Double(p.iterations - p.iteration) * p.secondsPerIteration
        console.progress("craft", interval: 5, "  iteration \(p.iteration)/\(p.iterations) loss \(String(format: "%.4f", p.loss)) \(stepSizeText(p.stepSizes)) \(String(format: "%.0f", p.secondsPerIteration * 1000)) ms/it, ETA \(formatDuration(eta))")
    }
    if result == nil {
        console.say("stopped; the checkpoint is in \(run.directory.path). Continue with --resume.")
        throw ExitCode(130)
    }
    return result
}

/// The step sizes for a progress line: each one, or their range when there are many
/// (a 10-step, 3-epoch distillation has 30).
func stepSizeText(_ sizes: [Float]) -> String {
    guard sizes.count > 4, let low = sizes.min(), let high = sizes.max() else {
        return "step size " + sizes.map { String(format: "%.4f", $0) }.joined(separator: ",")
    }
    return "\(sizes.count) step sizes " + String(format: "%.4f…%.4f", low, high)
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
    @Argument(help: ArgumentHelp("An attack spec (YAML).", discussion: specArgumentHelp)) var spec: String
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
    @Argument(help: ArgumentHelp("An attack spec (YAML).", discussion: specArgumentHelp)) var spec: String
    @OptionGroup var options: CraftOptions
    @OptionGroup var defense: DefenseOptions

    func run() throws {
        let start = Date()
        let run = try prepareRun(specPath: spec, options: options, defenses: try defense.specs(), objective: .forget)
        let zooSeconds = Date().timeIntervalSince(start)
        // Held until the report is written: nobody rewrites the poison or the zoo meanwhile.
        let locks = try run.lock()
        guard let (poison, craftSeconds) = try craftWithProgress(run, options: options, locks: locks) else { return }
        let report = try run.evaluate(poison, workers: options.workers,
                                      timings: ["zoo": zooSeconds, "craft": craftSeconds], locks: locks) { Console.shared.say($0) }
        try run.write(report, locks: locks)
        printSummary(report, directory: run.directory, totalSeconds: Date().timeIntervalSince(start))
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate any poison set on a zoo's held-out victims, with controls and probes.",
        discussion: """
            The poison file is safetensors with images [M,C,H,W] F32 (normalized space), labels [M] \
            I64, lrs [steps×epochs] F32 and metadata dataset, mean, std, K, T, steps, epochs. \
            Metadata a file lacks can be given here (--forget, --mean, …); steps and epochs are \
            inferred when lrs has one value, and a bare number is a one-channel mean or std. \
            Every problem with the file is listed at once.
            Example: amnesia evaluate --poison reports/<run>/poison.safetensors --zoo fashion-lenet
            Example: amnesia evaluate --poison made-in-pytorch.safetensors --zoo fashion-lenet --forget 0 --target 1 --mean 0.286 --std 0.353
            """)
    @Option(help: "The poison set (safetensors).") var poison: String
    @Option(help: "The zoo's name under --victims-dir, or its path.") var zoo: String
    @OptionGroup var folders: FolderOptions
    @Option(parsing: .unconditional, help: "The class to forget (K), if the file does not say.") var forget: Int?
    @Option(parsing: .unconditional, help: "The class it should be predicted as (T), if the file does not say.") var target: Int?
    @Option(parsing: .unconditional, help: "Per-channel mean the images were normalized with, comma-separated, if the file does not say.")
    var mean: String?
    @Option(parsing: .unconditional, help: "Per-channel std the images were normalized with, comma-separated, if the file does not say.")
    var std: String?
    @Option(help: "The dataset the poison was made for, if the file does not say.") var dataset: String?
    @Option(parsing: .unconditional, help: "Inner steps per epoch, if the file does not say.") var steps: Int?
    @Option(parsing: .unconditional, help: "Epochs over the steps, if the file does not say.") var epochs: Int?
    @OptionGroup var defense: DefenseOptions

    func run() throws {
        let start = Date()
        let overrides = PoisonSet.MetadataOverrides(dataset: dataset, mean: try numbers(mean, "--mean"), std: try numbers(std, "--std"),
                                                    forget: forget, target: target, steps: steps, epochs: epochs)
        let zoo = try openZoo(zoo, root: URL(fileURLWithPath: folders.victimsDir))
        let evaluation = try PoisonEvaluation(poisonURL: URL(fileURLWithPath: poison), overrides: overrides, zoo: zoo,
                                              reportsRoot: URL(fileURLWithPath: folders.reportsDir))
        for warning in evaluation.warnings { Console.shared.say("WARNING: \(warning)") }
        let report = try evaluation.run(defenses: try defense.specs(),
                                        workers: folders.workers) { Console.shared.say($0) }
        printSummary(report, directory: evaluation.directory, totalSeconds: Date().timeIntervalSince(start))
    }

    /// A comma-separated list of numbers from the command line.
    private func numbers(_ text: String?, _ option: String) throws -> [Float]? {
        try text.map { text in
            try text.split(separator: ",").map { item in
                guard let value = Float(item.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                    throw ValidationError("\(option) takes numbers separated by commas, one per channel (e.g. 0.286); got '\(text)'")
                }
                return value
            }
        }
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-render report.md, report.html and victims.csv from a run's report.json; for an audit folder, merge its pairs (as audit --merge).")
    @Argument(help: "A run folder, e.g. reports/fashion-tshirt-to-trouser-1a2b3c4d, or an audit folder.") var runDirectory: String

    func run() throws {
        let directory = URL(fileURLWithPath: runDirectory)
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("audit-plan.json").path) {
            return try writeMergedAudit(directory)
        }
        try ReportWriter.rerender(directory: directory)
        print("report: \(URL(fileURLWithPath: runDirectory).appendingPathComponent(ReportWriter.htmlName).path)")
    }
}

/// This task's shard of a job split into indexed tasks (see `Shard.resolve`).
struct ShardOptions: ParsableArguments {
    @Option(help: ArgumentHelp("This task's share of the work: I of N tasks (0-based), e.g. 0/4. Without it, the index comes from SLURM_ARRAY_TASK_ID (with SLURM_ARRAY_TASK_COUNT or --shards), JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX (with --shards).", valueName: "I/N"))
    var shard: String?
    @Option(help: "The number of tasks, when the index comes from the environment (a Kubernetes Indexed Job's completions, an AWS Batch array's size; on Slurm it keeps a task resubmitted alone in its place).")
    var shards: Int?

    func resolve() throws -> Shard {
        do { return try Shard.resolve(option: shard, shards: shards, environment: ProcessInfo.processInfo.environment) } catch {
            throw ValidationError(error.message)
        }
    }
}

/// `audit --merge DIR` and `report DIR` on an audit folder: the report from the complete
/// pairs, and the missing ones with the command that runs them.
func writeMergedAudit(_ directory: URL) throws {
    let merged = try Audit.merge(directory)
    try ReportWriter.write(audit: merged.report, to: directory)
    let total = merged.report.pairs.count + merged.missing.count
    print("merged \(merged.report.pairs.count) of \(total) pairs into \(directory.appendingPathComponent(ReportWriter.auditHTMLName).path) (matrix: \(directory.appendingPathComponent(ReportWriter.auditMatrixName).path))")
    if !merged.missing.isEmpty {
        print("missing \(merged.missing.count) pairs: \(merged.missing.map { "\($0.forget)→\($0.target)" }.joined(separator: ", "))")
        print("fill them with: \(merged.fillCommand ?? "the audit command that made this folder, with --pairs \(merged.missing.map { "\($0.forget):\($0.target)" }.joined(separator: ","))")")
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
    if let worst = s.worstOtherClassDrop {
        print("  worst other class: \(report.className(worst.classIndex)), down \(pct(worst.drop))")
    }
    if let foreign = report.results.foreign {
        let f = foreign.summary
        print("  foreign-recipe held-out victims (\(foreign.victims.count)): ASR \(pct(f.after.asr.mean)) ± \(pct(f.after.asr.std)) (min \(pct(f.after.asr.min))), other classes' drop \(pct(f.otherAccuracyDrop.mean))")
    }
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
            audit.html (a heatmap) in reports/audit-<zoo>-<hash>/. With --defense, each pair's poison \
            is also scored with the held-out victims deploying each defense, and the report gets one \
            defended matrix per defense beside the undefended one (adding a defense later re-scores the \
            saved poisons without crafting again).
            All 90 pairs of a 10-class zoo take about 45 minutes on 2 cores at the default budget.
            Example: amnesia audit --zoo fashion-lenet --pairs 0:1,0:6 --iterations 200
            Example: amnesia audit --zoo fashion-lenet --pairs 0:1 --defense dilution:clean=1000 --defense step_cap:max=0.02

            Your own model: --model model.onnx trains (or reuses) the zoo audit-<file name> of \
            --crafting victims of its architecture on --dataset, adds the model as its held-out \
            victim, and audits it: the matrix is the model's own. State how you trained it with \
            --recipe so the crafting victims are trained the same way (the zoo's name then carries \
            the recipe's hash, as it carries a changed --crafting: audit-model-c16-recipe-1a2b3c4d). \
            Each pair is also crafted on the model's own weights (white-box; --no-white-box skips that \
            second crafting), and the report shows per pair the gray-box ASR (an attacker \
            who knows only the recipe), the white-box ASR (one who has your weights) and the oracle \
            (the model fine-tuned on the whole training set with K relabelled T: unlimited \
            poisoning), each gray-box and white-box ASR with its share of the oracle's.
            Example: amnesia audit --model model.onnx --dataset image-folder --data-dir images --pairs 0:1
            Example: amnesia audit --model model.onnx --recipe recipe.yaml --pairs 0:1   (recipe.yaml: optimizer: adamw, epochs: 10, …)

            On a cluster: N tasks sharing the reports folder each run their share of the pairs \
            (--shard I/N, or the index from SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or \
            AWS_BATCH_JOB_ARRAY_INDEX with --shards N); then --merge builds the report from the \
            pairs that are complete and prints the command that runs the missing ones. Every pair \
            gives the same result whichever task runs it. Templates: deploy/slurm, deploy/kubernetes.
            Example: amnesia audit --zoo fashion-lenet --shard 0/10
            Example: amnesia audit --merge reports/audit-fashion-lenet-1a2b3c4d
            """)
    @Option(help: "The zoo's name under --victims-dir, or its path.") var zoo: String?
    @Option(help: "Your ONNX model, instead of --zoo: audited as the held-out victim of a zoo of its architecture.")
    var model: String?
    @Option(help: "With --model: the dataset (e.g. image-folder, fashion-mnist).") var dataset = "fashion-mnist"
    @Option(help: "With --model: the dataset's folder.") var dataDir: String?
    @Option(parsing: .unconditional, help: "With --model: crafting victims to train on the model's architecture.") var crafting = ModelAudit.defaultCrafting
    @Option(help: ArgumentHelp("With --model: how your model was trained, so the crafting victims are trained the same way: a YAML file of a zoo spec's training: keys (epochs, batch_size, optimizer, learning_rate, momentum, nesterov, weight_decay, schedule, decay_epochs, decay, warmup_epochs, final_learning_rate, pct_start, label_smoothing, augmentation, initialization), or those keys inline, e.g. '{optimizer: adamw, learning_rate: 0.001, epochs: 10}'. Keys left out take the default recipe's values.", valueName: "file-or-keys"))
    var recipe: String?
    @Flag(inversion: .prefixedNo, help: "Also craft each pair on the held-out model's own weights and show that white-box ASR beside the gray-box one and the oracle (default: on with --model, off with --zoo, where it crafts once per held-out victim).")
    var whiteBox: Bool?
    @Option(help: "With --model: batch norm in the victims' poisoned step, eval or train.") var batchNorm = BatchNormMode.eval.rawValue
    @OptionGroup(title: "With --model on an image folder") var images: ImageOptionsGroup
    @Option(help: "Comma-separated K:T pairs (class indices); all 90 ordered pairs when absent.")
    var pairs: String?
    @Option(help: ArgumentHelp("Attack spec whose settings every pair uses (its forget/target are ignored); the default attack by default.", discussion: specArgumentHelp))
    var spec = AuditCommand.defaultSpec
    @Option(parsing: .unconditional, help: "Outer iterations per pair (cheaper than a full attack; about 30 s a pair on 2 cores).") var iterations = 300
    @Option(name: .customLong("victims-dir"), help: "Folder holding the zoos (how the default is chosen: amnesia --help).") var victimsDir = Locations.current.victims
    @Option(name: .customLong("reports-dir"), help: "Folder where the audit folder is written (how the default is chosen: amnesia --help).") var reportsDir = Locations.current.reports
    @Option(parsing: .unconditional, help: "Threads (victims side by side, one core each).") var workers = ProcessInfo.processInfo.activeProcessorCount
    @OptionGroup var defense: DefenseOptions
    @OptionGroup var sharding: ShardOptions
    @Option(name: .customLong("merge"), help: ArgumentHelp("Build the report of an audit folder from its complete pairs and list the missing ones (nothing is crafted).", valueName: "run-dir"))
    var mergeDirectory: String?
    @Flag(help: "Write the audit folder's plan and print its path, crafting nothing (a cluster job's first step; --merge needs it).")
    var prepare = false

    /// The attack spec every pair uses when --spec is not given.
    static let defaultSpec = "attacks/fashion-tshirt-to-trouser.yaml"

    func validate() throws {
        try checkFolderOption(victimsDir, option: "--victims-dir", writable: false)
        try checkFolderOption(reportsDir, option: "--reports-dir", writable: true)
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1 (got \(workers))") }
        if recipe != nil && model == nil {
            throw ValidationError("--recipe states how --model was trained; with --zoo the zoo's own spec says how its victims were trained")
        }
    }

    func run() throws {
        if let mergeDirectory { return try writeMergedAudit(URL(fileURLWithPath: mergeDirectory)) }
        let shard = try sharding.resolve()
        // A zoo that does not exist is the mistake to report, before any spec.
        if let zoo, model == nil { _ = try openZoo(zoo, root: URL(fileURLWithPath: victimsDir)) }
        var template = try loadAttackSpec(spec)
        template.iterations = iterations
        template.optimizer.decayEvery = max(1, iterations * 2 / 5)
        // Checked before the crafting victims are trained, not after.
        if model != nil, crafting < template.victimsPerIteration {
            throw ValidationError("--crafting \(crafting) is fewer than the victims_per_iteration \(template.victimsPerIteration) of \(spec); give --crafting \(template.victimsPerIteration) or more, or a spec with a smaller victims_per_iteration")
        }
        let zoo = try auditedZoo()
        template.zoo = zoo.name
        let parsed = try pairs.map { text in
            try text.split(separator: ",").map { item -> (forget: Int, target: Int) in
                let parts = item.split(separator: ":").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 2 else { throw ValidationError("--pairs takes K:T items like 0:1,0:6; got '\(item)'") }
                return (parts[0], parts[1])
            }
        }
        var audit = try Audit(zoo: zoo, template: template, pairs: parsed, reportsRoot: URL(fileURLWithPath: reportsDir),
                              defenses: try defense.specs())
        audit.whiteBox = whiteBox ?? (model != nil)
        audit.command = [CommandLine.arguments.first ?? "amnesia", "audit", "--zoo", self.zoo ?? zoo.name, "--spec", spec,
                         "--iterations", String(iterations), "--victims-dir", victimsDir, "--reports-dir", reportsDir]
            + defense.defenses.flatMap { ["--defense", $0] } + (audit.whiteBox ? ["--white-box"] : [])
        if prepare {
            try audit.prepare()
            print(audit.directory.path)
            return
        }
        let share = shard.share(of: audit.pairs).count
        Console.shared.say("auditing \(shard == .whole ? "" : "shard \(shard): \(share) of ")\(audit.pairs.count) pairs of zoo '\(zoo.name)' with \(iterations) iterations each\(audit.whiteBox ? ", each also crafted on the held-out victims' own weights (white-box)" : "") into \(audit.directory.path)")
        let signals = catchInterrupts()
        defer { signals.cancel() }
        guard let report = try audit.run(shard: shard, workers: workers, shouldStop: { interrupted.load(ordering: .relaxed) },
                                         progress: { Console.shared.say("  " + $0) }) else {
            Console.shared.say("stopped; finished pairs are kept. Run the same command again to resume.")
            throw ExitCode(130)
        }
        guard shard == .whole else {
            print("shard \(shard) done: \(share) pairs; \(report.pairs.count) of the audit's pairs are complete. When every task has finished: \(CommandLine.arguments.first ?? "amnesia") audit --merge \(audit.directory.path)")
            return
        }
        try ReportWriter.write(audit: report, to: audit.directory)
        let asrs = report.pairs.map(\.asr.mean).sorted()
        let median = asrs.isEmpty ? 0 : (asrs[(asrs.count - 1) / 2] + asrs[asrs.count / 2]) / 2
        print("median held-out ASR over \(asrs.count) pairs: \(String(format: "%.3f", median))")
        print("report: \(audit.directory.appendingPathComponent(ReportWriter.auditHTMLName).path)")
    }

    /// The zoo named by --zoo, or the one --model trains around the user's model.
    private func auditedZoo() throws -> Zoo {
        switch (zoo, model) {
        case let (name?, nil):
            return try openZoo(name, root: URL(fileURLWithPath: victimsDir))
        case let (nil, model?):
            guard let mode = BatchNormMode(rawValue: batchNorm) else {
                throw ValidationError("--batch-norm must be eval or train, got '\(batchNorm)'")
            }
            // The zoo records the data folder absolute, so it opens from any folder later.
            return try ModelAudit.zoo(model: URL(fileURLWithPath: model), dataset: dataset,
                                      dataDir: dataDir.map { URL(fileURLWithPath: $0).path }, images: images.options(),
                                      crafting: crafting, training: try statedRecipe(), batchNorm: mode == .eval ? nil : mode,
                                      root: URL(fileURLWithPath: victimsDir), workers: workers, say: { Console.shared.say($0) }) { event in
                if case let .finished(record, seconds) = event {
                    Console.shared.say("  \(record.id): test accuracy \(String(format: "%.4f", record.testAccuracy)) in \(formatDuration(seconds))")
                }
            }
        default:
            throw ValidationError("give either --zoo or --model")
        }
    }

    /// The recipe --recipe states (a YAML file, or its keys inline), or the default one.
    private func statedRecipe() throws -> TrainingRecipe {
        guard let recipe else { return TrainingRecipe() }
        if FileManager.default.fileExists(atPath: recipe) { return try TrainingRecipe.load(URL(fileURLWithPath: recipe)) }
        guard recipe.contains(":") else {
            throw ValidationError("--recipe: no file '\(recipe)'; give a YAML file of a zoo spec's training: keys, or the keys inline, e.g. --recipe '{optimizer: adamw, epochs: 10}'")
        }
        return try TrainingRecipe.parse(SpecDocument(yaml: recipe, file: "--recipe"))
    }
}
