// swift-tools-version:6.0
import PackageDescription

/// Amnesia: a data-poisoning security evaluation suite built on dataset distillation.
/// Data flows one way: spec → zoo → craft → poison set → evaluate → report.
let package = Package(
    name: "Amnesia",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "amnesia", targets: ["amnesia"]),
        .library(name: "Autodiff", targets: ["Autodiff"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // C libraries from Debian packages (see scripts/setup.sh).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Hand-written AVX2/FMA kernels for the GEMM shapes OpenBLAS handles poorly,
        // chosen at run time (the binary still runs on CPUs without AVX2). -O3 in every
        // configuration (the unit tests run them too): measured 1.6-2× faster than -O2,
        // which leaves the blocks' small loops rolled and their accumulators in memory.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        .target(name: "Autodiff", dependencies: ["CBLAS", "CMalloc", "CKernels"]),
        .target(name: "Networks", dependencies: ["Autodiff"]),
        .target(name: "Datasets", dependencies: ["CPNG", "CZlib"]),
        .target(name: "Victims", dependencies: ["Autodiff", "Networks", "Datasets", "Yams"]),
        .target(name: "Distillation", dependencies: ["Autodiff", "Networks", "Datasets", "Victims"]),
        .target(name: "Reports"),
        .target(name: "Evaluation", dependencies: ["Autodiff", "Networks", "Datasets", "Victims", "Distillation", "Reports"]),
        .executableTarget(
            name: "amnesia",
            dependencies: [
                "Autodiff", "Networks", "Datasets", "Victims", "Distillation", "Reports", "Evaluation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "AutodiffTests", dependencies: ["Autodiff"]),
        .testTarget(name: "NetworksTests", dependencies: ["Networks"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"]),
        .testTarget(name: "VictimsTests", dependencies: ["Victims"]),
        .testTarget(name: "DistillationTests", dependencies: ["Distillation"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"]),
    ]
)
