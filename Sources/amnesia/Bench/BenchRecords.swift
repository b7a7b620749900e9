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
