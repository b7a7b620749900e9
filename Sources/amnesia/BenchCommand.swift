import ArgumentParser
import Autodiff
import Datasets
import Dispatch
import Distillation
import Foundation
import Networks
import Victims

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fixed workloads of `amnesia bench`. They mirror `bench/pytorch_reference.py`
/// one for one, so the two tools' rows can be compared directly.
enum BenchWorkload: String, CaseIterable {
    case attackIPC1 = "attack-ipc1"
    case attackIPC10 = "attack-ipc10"
    case train
    case eval

    /// One line for `--help` and the table.
    var summary: String {
        switch self {
        case .attackIPC1: "one crafting iteration of the published attack (the default spec without its learned labels and reweighted real batches), 1 image per class (10 images), 4 victims, real batch 256; ms per iteration"
        case .attackIPC10: "the same with 10 images per class (100 images, the default budget); ms per iteration"
        case .train: "one epoch of LeNet training on the 60,000 training images, batch 64, SGD momentum 0.9; images per second"
        case .eval: "inference on the 10,000 test images; images per second"
        }
    }

    /// Whether the row reports a time per iteration (lower is better) rather than a rate.
    var isLatency: Bool { self == .attackIPC1 || self == .attackIPC10 }
}

/// One measured workload. The field names are the JSON keys shared with the PyTorch
/// reference script; `min`/`max` are in the row's own unit (ms per iteration or images
/// per second), so the spread that machine load causes is visible next to the median.
struct BenchRow: Codable {
    var workload: String
    var msPerIter: Double?
    var imagesPerS: Double?
    var min: Double
    var max: Double
    /// Timed samples behind the median (warm-up excluded).
    var repeats: Int
    /// The workload process's own peak resident set size, MiB.
    var peakRssMb: Double
    /// The 1-minute load average when the workload started.
    var load1m: Double

    enum CodingKeys: String, CodingKey {
        case workload, msPerIter = "ms_per_iter", imagesPerS = "images_per_s", min, max, repeats
        case peakRssMb = "peak_rss_mb", load1m = "load_1m"
    }
}

/// The conditions the numbers were measured under: they are meaningless without them.
struct BenchConditions: Codable {
    var tool: String
    var cores: Int
    /// 1-, 5- and 15-minute load averages before the first workload.
    var loadAverageStart: [Double]
    /// OpenBLAS threads for `train` and `eval`; the attack runs one BLAS thread per worker.
    var openblasThreads: Int
    /// Victims processed side by side in the attack workloads.
    var attackWorkers: Int
    /// The hand-written kernels this CPU runs (`avx2-fma` or `baseline`).
    var kernels: String
    var iterations: Int
    var warmup: Int
    var date: String

    enum CodingKeys: String, CodingKey {
        case tool, cores, loadAverageStart = "load_average_start", openblasThreads = "openblas_threads"
        case attackWorkers = "attack_workers", kernels, iterations, warmup, date
    }
}

struct BenchReport: Codable {
    var conditions: BenchConditions
    var rows: [BenchRow]
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time fixed Fashion-MNIST/LeNet workloads (attack iteration, training, inference).",
        discussion: """
            Workloads (all on Fashion-MNIST with LeNet; no trained zoo is needed, since speed \
            does not depend on the weights: victims are 4 LeNets with seeded PyTorch-default \
            random init):
            \(BenchWorkload.allCases.map { "  \($0.rawValue): \($0.summary)" }.joined(separator: "\n"))

            The attack workloads report the median of --iterations timed iterations after \
            --warmup untimed ones; eval the median of 5 passes after one untimed pass; train \
            one timed epoch. Each workload runs in its own child process so its peak RSS \
            (getrusage ru_maxrss; it includes loading and normalizing the dataset, a few hundred MB) is its own.

            The numbers depend on machine load: other jobs on the same cores slow every row. \
            The output records the core count, the load average at the start and before each \
            workload, and the OpenBLAS thread count; compare runs only under similar load. \
            bench/pytorch_reference.py runs the same workloads in PyTorch.
            Examples: amnesia bench
                      amnesia bench --workload attack-ipc1,eval --iterations 50 --json
            """)

    @Option(name: .customLong("workload"), parsing: .singleValue,
            help: ArgumentHelp("Workloads to run (repeatable or comma-separated): \(BenchWorkload.allCases.map(\.rawValue).joined(separator: ", ")). All when absent.",
                               valueName: "name"))
    var workloadNames: [String] = []

    @Option(help: "Timed attack iterations; the median is reported.")
    var iterations = 20

    @Option(help: "Untimed attack iterations run first (caches, allocator and thread-pool warm-up).")
    var warmup = 3

    @Option(help: "Victims processed side by side in the attack workloads (one BLAS thread each), as `amnesia craft --workers`.")
    var workers = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("blas-threads"),
            help: "OpenBLAS threads for train and eval (default: OpenBLAS's own default, OPENBLAS_NUM_THREADS or the core count).")
    var blasThreads: Int?

    @Option(help: "The attack spec the attack workloads start from (images per class, steps, victims and batch are overridden); the published algorithm by default, as in bench/pytorch_reference.py.")
    var spec = "attacks/fashion-tshirt-to-trouser-published.yaml"

    @Flag(help: "Print one JSON object (conditions and rows) instead of a table.")
    var json = false

    /// Set on the child processes: run the single named workload here and print its row
    /// as one JSON line. Hidden because it is the parent's protocol, not a user feature.
    @Flag(help: ArgumentHelp(visibility: .hidden))
    var child = false

    /// `--workload` values split on commas, in the order given, without repeats.
    var workloads: [BenchWorkload] {
        get throws {
            let names = workloadNames.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            guard !names.isEmpty else { return BenchWorkload.allCases }
            var chosen: [BenchWorkload] = []
            for name in names where !name.isEmpty {
                guard let workload = BenchWorkload(rawValue: name.lowercased()) else {
                    throw ValidationError("unknown workload '\(name)'; choose from: \(BenchWorkload.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                if !chosen.contains(workload) { chosen.append(workload) }
            }
            return chosen
        }
    }

    func validate() throws {
        _ = try workloads
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1 (got \(iterations))") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative (got \(warmup))") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1 (got \(workers))") }
        if let blasThreads, blasThreads < 1 { throw ValidationError("--blas-threads must be at least 1 (got \(blasThreads))") }
        if child, try workloads.count != 1 { throw ValidationError("a bench child process runs exactly one workload") }
    }

    func run() throws {
        if let blasThreads { BLASThreads.count = blasThreads }
        let chosen = try workloads
        if child, let workload = chosen.first {
            let row = try BenchRunner(options: self).run(workload)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(row), as: UTF8.self))
            return
        }

        let conditions = BenchConditions(
            tool: "amnesia \(Amnesia.version)", cores: ProcessInfo.processInfo.activeProcessorCount,
            loadAverageStart: loadAverages(), openblasThreads: BLASThreads.count, attackWorkers: workers,
            kernels: KernelSet.name, iterations: iterations, warmup: warmup, date: ISO8601DateFormatter().string(from: Date()))
        var rows: [BenchRow] = []
        for workload in chosen {
            Console.shared.say("bench: \(workload.rawValue) (load average \(String(format: "%.2f", loadAverages()[0])))…")
            rows.append(try runChild(workload))
        }
        let report = BenchReport(conditions: conditions, rows: rows)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]  // stable key order, as the PyTorch script
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            printTable(report)
        }
    }

    /// Re-executes this binary with `--child` for one workload and reads its row, so the
    /// row's peak RSS is not inflated by workloads that ran before it.
    private func runChild(_ workload: BenchWorkload) throws -> BenchRow {
        let process = Process()
        process.executableURL = currentExecutable()
        var arguments = ["bench", "--child", "--workload", workload.rawValue, "--iterations", String(iterations),
                         "--warmup", String(warmup), "--workers", String(workers), "--spec", spec]
        if let blasThreads { arguments += ["--blas-threads", String(blasThreads)] }
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output  // stderr is inherited: the child's errors reach the user
        do {
            try process.run()
        } catch {
            throw ValidationError("could not start \(process.executableURL?.path ?? "amnesia") for workload \(workload.rawValue): \(error)")
        }
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let command = "amnesia " + arguments.joined(separator: " ")
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw BenchError("workload \(workload.rawValue) failed (exit status \(process.terminationStatus)); its error is printed above. Run `\(command)` alone to reproduce it.")
        }
        let lastLine = String(decoding: bytes, as: UTF8.self).split(separator: "\n").last(where: { $0.hasPrefix("{") })
        guard let lastLine, let row = try? JSONDecoder().decode(BenchRow.self, from: Data(lastLine.utf8)) else {
            throw BenchError("workload \(workload.rawValue) printed no result row; run `\(command)` to see its output")
        }
        return row
    }

    private func printTable(_ report: BenchReport) {
        let c = report.conditions
        print("\(c.tool) bench, \(c.date): \(c.cores) cores, load average \(c.loadAverageStart.map { String(format: "%.2f", $0) }.joined(separator: " ")) at start, OpenBLAS threads \(c.openblasThreads), attack workers \(c.attackWorkers), kernels \(c.kernels)")
        print(pad("workload", 14) + pad("median", 18) + pad("min … max", 24) + pad("samples", 9) + pad("peak RSS", 11) + "load")
        for row in report.rows {
            let (value, unit, format) = row.msPerIter.map { ($0, "ms/iter", "%.1f") } ?? (row.imagesPerS ?? 0, "img/s", "%.0f")
            let spread = String(format: format, row.min) + " … " + String(format: format, row.max)
            print(pad(row.workload, 14) + pad(String(format: format, value) + " " + unit, 18) + pad(spread, 24)
                  + pad(String(row.repeats), 9) + pad(String(format: "%.0f MB", row.peakRssMb), 11) + String(format: "%.2f", row.load1m))
        }
        print("Numbers depend on machine load (see the load columns); compare runs only under similar load.")
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// Runs one workload in the current process and measures it.
struct BenchRunner {
    let options: Bench
    /// Seeds of the four random-init victims (any fixed values do: speed does not depend on them).
    static let victimSeeds: [UInt64] = [1, 2, 3, 4]
    /// Timed inference passes for `eval` (after one untimed pass).
    static let evalRepeats = 5

    func run(_ workload: BenchWorkload) throws -> BenchRow {
        let load = loadAverages()[0]
        let data = try PreparedData.load(dataset: "fashion-mnist")
        let classifier = try LeNet(inputShape: [1, 28, 28], classes: 10)
        var row: BenchRow
        switch workload {
        case .attackIPC1: row = try attack(imagesPerClass: 1, classifier: classifier, data: data)
        case .attackIPC10: row = try attack(imagesPerClass: 10, classifier: classifier, data: data)
        case .train: row = train(classifier: classifier, data: data)
        case .eval: row = eval(classifier: classifier, data: data)
        }
        row.workload = workload.rawValue
        row.load1m = rounded(load, 2)
        row.peakRssMb = rounded(peakResidentMegabytes(), 1)
        (row.msPerIter, row.imagesPerS) = (row.msPerIter.map { rounded($0, 3) }, row.imagesPerS.map { rounded($0, 1) })
        let places = row.msPerIter == nil ? 1 : 3
        (row.min, row.max) = (rounded(row.min, places), rounded(row.max, places))
        return row
    }

    /// One crafting iteration exactly as `amnesia craft` runs it, with the spec pinned to
    /// one step, one epoch, 4 victims and a real batch of 256 so the workload stays fixed
    /// when the committed spec is tuned.
    private func attack(imagesPerClass: Int, classifier: LeNet, data: PreparedData) throws -> BenchRow {
        guard FileManager.default.fileExists(atPath: options.spec) else {
            throw BenchError("attack spec \(options.spec) not found; run from the repository root or pass --spec PATH")
        }
        var spec = try AttackSpec.load(URL(fileURLWithPath: options.spec))
        spec.imagesPerClass = imagesPerClass
        (spec.steps, spec.epochs, spec.victimsPerIteration, spec.realBatchSize) = (1, 1, 4, 256)
        spec.knowledge = .distribution
        let (forget, target) = try spec.classes(data.info.classNames)
        let victims = Self.victimSeeds.map { seed in
            var rng = SeededGenerator(seed: seed)
            return classifier.initialParameters(.pytorchDefault, using: &rng)
        }
        let crafter = UnrolledSteps(spec: spec, context: spec.craftingContext(
            classifier: classifier, data: data, victims: victims, forget: forget, target: target, architecture: "lenet"))
        var state = crafter.initialState()
        for _ in 0..<options.warmup { crafter.iterate(&state, workers: options.workers) }
        let samples = (0..<options.iterations).map { _ in
            seconds { crafter.iterate(&state, workers: options.workers) } * 1000
        }
        return BenchRow(workload: "", msPerIter: median(samples), imagesPerS: nil, min: samples.min() ?? 0,
                        max: samples.max() ?? 0, repeats: samples.count, peakRssMb: 0, load1m: 0)
    }

    /// One epoch of the zoo's training loop (`Trainer.train`), batch 64, SGD with momentum
    /// 0.9 and the zoo recipe's learning rate and weight decay, each batch split over
    /// `--workers` cores. A single sample: an epoch is ~940 steps, long enough that
    /// warm-up is negligible.
    private func train(classifier: LeNet, data: PreparedData) -> BenchRow {
        var recipe = TrainingRecipe()
        (recipe.epochs, recipe.batchSize, recipe.optimizer, recipe.momentum, recipe.decayEpochs) = (1, 64, "sgd", 0.9, [])
        let elapsed = seconds { _ = Trainer.train(classifier, on: data.train, recipe: recipe, seed: 1, workers: options.workers) }
        let rate = Double(data.train.count) / elapsed
        return BenchRow(workload: "", msPerIter: nil, imagesPerS: rate, min: rate, max: rate, repeats: 1, peakRssMb: 0, load1m: 0)
    }

    /// Batched inference over the test split (`Trainer.predictions`), batches spread over
    /// `--workers` cores.
    private func eval(classifier: LeNet, data: PreparedData) -> BenchRow {
        var rng = SeededGenerator(seed: Self.victimSeeds[0])
        let parameters = classifier.initialParameters(.pytorchDefault, using: &rng)
        _ = Trainer.predictions(classifier, parameters, on: data.test, workers: options.workers)
        let rates = (0..<Self.evalRepeats).map { _ in
            Double(data.test.count) / seconds { _ = Trainer.predictions(classifier, parameters, on: data.test, workers: options.workers) }
        }
        return BenchRow(workload: "", msPerIter: nil, imagesPerS: median(rates), min: rates.min() ?? 0,
                        max: rates.max() ?? 0, repeats: rates.count, peakRssMb: 0, load1m: 0)
    }
}

/// A bench failure with a message saying what to do.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Wall-clock seconds `body` takes, on the monotonic clock.
private func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The middle value (mean of the two middle ones for an even count): robust to the
/// occasional iteration slowed by another process.
private func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let mid = sorted.count / 2
    return sorted.count.isMultiple(of: 2) ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[mid]
}

/// 1-, 5- and 15-minute load averages to two decimals, as `uptime` shows them (zeros
/// where the system does not report them).
private func loadAverages() -> [Double] {
    var loads = [Double](repeating: 0, count: 3)
    let count = getloadavg(&loads, 3)
    return count == 3 ? loads.map { rounded($0, 2) } : [Double](repeating: 0, count: 3)
}

/// `value` to `places` decimals: the JSON carries no false precision.
private func rounded(_ value: Double, _ places: Int) -> Double {
    let scale = Foundation.pow(10, Double(places))
    return (value * scale).rounded() / scale
}

/// This process's peak resident set size in MiB. `ru_maxrss` is KiB on Linux (bytes on
/// macOS); it only grows, which is why each workload runs in its own process.
private func peakResidentMegabytes() -> Double {
    var usage = rusage()
    #if os(macOS)
    guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
    return Double(usage.ru_maxrss) / (1024 * 1024)
    #else
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
    return Double(usage.ru_maxrss) / 1024
    #endif
}

/// The running binary (resolved through /proc on Linux, so a relative argv[0] or a PATH
/// lookup does not matter).
private func currentExecutable() -> URL {
    if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        return URL(fileURLWithPath: path)
    }
    return Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
}
