import ArgumentParser
import Datasets
import Dispatch
import Foundation
import Networks

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the workloads: the parent starts one child process per workload (`runInChild`), so
/// each row's peak RSS is its own; the child runs it here and measures it (`run`).
struct BenchRunner {
    let options: Bench
    /// Seeds of the four random-init victims (any fixed values do: speed does not depend on them).
    static let victimSeeds: [UInt64] = [1, 2, 3, 4]
    /// Timed inference passes for `eval` (after one untimed pass).
    static let evalRepeats = 5

    /// Runs `workload` in this process and returns its row, rounded to the precision it carries.
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
        case .convnetStep: row = convnetStep(classifier: try ConvNet(inputShape: [1, 28, 28], classes: 10), data: data)
        case .convnetEval: row = convnetEval(classifier: try ConvNet(inputShape: [1, 28, 28], classes: 10), data: data)
        }
        row.workload = workload.rawValue
        row.load1m = rounded(load, 2)
        row.peakRssMb = rounded(peakResidentMegabytes(), 1)
        (row.msPerIter, row.imagesPerS) = (row.msPerIter.map { rounded($0, 3) }, row.imagesPerS.map { rounded($0, 1) })
        let places = row.msPerIter == nil ? 1 : 3
        (row.min, row.max) = (rounded(row.min, places), rounded(row.max, places))
        return row
    }

    /// Re-executes this binary with `--child` for one workload and reads its row, so the
    /// row's peak RSS is not inflated by workloads that ran before it.
    func runInChild(_ workload: BenchWorkload) throws -> BenchRow {
        let process = Process()
        process.executableURL = currentExecutable()
        var arguments = ["bench", "--child", "--workload", workload.rawValue, "--iterations", String(options.iterations),
                         "--warmup", String(options.warmup), "--workers", String(options.workers), "--spec", options.spec,
                         "--unrolled-steps", String(options.unrolledSteps)]
        if let blasThreads = options.blasThreads { arguments += ["--blas-threads", String(blasThreads)] }
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
}

/// A bench failure with a message saying what to do.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Wall-clock seconds `body` takes, on the monotonic clock.
func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// The middle value (mean of the two middle ones for an even count): robust to the
/// occasional iteration slowed by another process.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let mid = sorted.count / 2
    return sorted.count.isMultiple(of: 2) ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[mid]
}

/// 1-, 5- and 15-minute load averages to two decimals, as `uptime` shows them (zeros
/// where the system does not report them).
func loadAverages() -> [Double] {
    var loads = [Double](repeating: 0, count: 3)
    let count = getloadavg(&loads, 3)
    return count == 3 ? loads.map { rounded($0, 2) } : [Double](repeating: 0, count: 3)
}

/// `value` to `places` decimals: the JSON carries no false precision.
func rounded(_ value: Double, _ places: Int) -> Double {
    let scale = Foundation.pow(10, Double(places))
    return (value * scale).rounded() / scale
}

/// This process's peak resident set size in MiB. `ru_maxrss` is KiB on Linux (bytes on
/// macOS); it only grows, which is why each workload runs in its own process.
func peakResidentMegabytes() -> Double {
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
func currentExecutable() -> URL {
    if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        return URL(fileURLWithPath: path)
    }
    return Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
}
