import ArgumentParser
import Autodiff
import Distillation
import Formats
import Foundation
import Poisoning

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time fixed Fashion-MNIST workloads (LeNet attack iteration, training, inference; ConvNet-3 training step and inference).",
        discussion: """
            Workloads (all on Fashion-MNIST; no trained zoo is needed, since speed does not \
            depend on the weights: victims are 4 LeNets, and the ConvNet-3s fresh networks, \
            with seeded PyTorch-default random init):
            \(BenchWorkload.allCases.map { "  \($0.rawValue): \($0.summary)" }.joined(separator: "\n"))

            The attack workloads and convnet-step report the median of --iterations timed \
            iterations after --warmup untimed ones; eval the median of 5 passes after one \
            untimed pass; train one timed epoch; convnet-eval one timed pass. Each workload runs in its own child process so its peak RSS \
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

    @Option(name: .customLong("unrolled-steps"),
            help: "Inner steps the attack workloads unroll (1: the fixed workload). Time and memory grow with steps × epochs, since every step stays in the graph: e.g. --unrolled-steps 30 measures the paper's 10 steps × 3 epochs.")
    var unrolledSteps = 1

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
        guard (1...PoisonSet.maxUpdates).contains(unrolledSteps) else {
            throw ValidationError("--unrolled-steps must be 1…\(PoisonSet.maxUpdates) (got \(unrolledSteps))")
        }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1 (got \(workers))") }
        if let blasThreads, blasThreads < 1 { throw ValidationError("--blas-threads must be at least 1 (got \(blasThreads))") }
        if child, try workloads.count != 1 { throw ValidationError("a bench child process runs exactly one workload") }
    }

    func run() throws {
        if let blasThreads { BLASThreads.count = blasThreads }
        let chosen = try workloads
        if child, let workload = chosen.first {
            let row = try BenchRunner(options: self).run(workload)
            print(try CanonicalJSON.string(row))
            return
        }

        let conditions = BenchConditions(
            tool: "amnesia \(Amnesia.version)", cores: ProcessInfo.processInfo.activeProcessorCount,
            loadAverageStart: loadAverages(), openblasThreads: BLASThreads.count, attackWorkers: workers,
            kernels: KernelSet.name, iterations: iterations, warmup: warmup, date: ISO8601DateFormatter().string(from: Date()))
        var rows: [BenchRow] = []
        for workload in chosen {
            Console.shared.say("bench: \(workload.rawValue) (load average \(String(format: "%.2f", loadAverages()[0])))…")
            rows.append(try BenchRunner(options: self).runInChild(workload))
        }
        let report = BenchReport(conditions: conditions, rows: rows)
        if json {
            print(try CanonicalJSON.string(report, pretty: true))  // stable key order, as the PyTorch script
        } else {
            printTable(report)
        }
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
