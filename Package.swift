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
        // Reads ONNX files; the message code (Sources/ONNX/onnx.pb.swift) is generated once
        // and committed (scripts/generate-onnx.sh), so builds never run its plugin.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // C libraries from Debian packages (see scripts/setup.sh).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        // libjpeg-turbo's decoder under setjmp (libjpeg's default error handler calls exit(),
        // and Swift cannot setjmp).
        .target(name: "CJPEGDecoder", dependencies: ["CJPEG"]),

        // Hand-written AVX2/FMA kernels for the GEMM shapes OpenBLAS handles poorly,
        // chosen at run time (the binary still runs on CPUs without AVX2). -O3 in every
        // configuration (the unit tests run them too): measured 1.6-2× faster than -O2,
        // which leaves the blocks' small loops rolled and their accumulators in memory.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),

        // The stages, each importing only the ones above it in this list.
        .target(name: "Autodiff", dependencies: ["CBLAS", "CMalloc", "CKernels"]),
        .target(name: "Formats", dependencies: ["CPNG", "CJPEGDecoder"]),
        .target(name: "Specs", dependencies: ["Yams"]),
        // The words every stage shares (what the attacker knows, a victim's role, what a
        // dataset's labels mean, normalization statistics, confusion counts), linking no
        // tensor code, so the report model stands on it alone.
        .target(name: "Vocabulary", dependencies: ["Specs"]),
        .target(name: "Datasets", dependencies: ["Autodiff", "Formats", "Vocabulary", "CZlib"]),
        .target(name: "Networks", dependencies: ["Autodiff"]),
        .target(name: "ONNX", dependencies: ["Autodiff", "Networks", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .target(name: "Victims", dependencies: ["Autodiff", "Formats", "Specs", "Datasets", "Networks", "ONNX", "Vocabulary"]),
        .target(name: "Results", dependencies: ["Vocabulary"]),
        // What crafting and evaluation share: the poison set, the victim's update step, the
        // step-size scorer and the defenses.
        .target(name: "Poisoning", dependencies: ["Autodiff", "Formats", "Specs", "Datasets", "Networks", "Victims", "Results"]),
        .target(name: "Distillation", dependencies: ["Autodiff", "Formats", "Specs", "Datasets", "Networks", "Vocabulary", "Victims", "Poisoning"]),
        .target(name: "Evaluation", dependencies: ["Autodiff", "Formats", "Datasets", "Networks", "Vocabulary", "Victims", "Results", "Poisoning"]),
        .target(name: "Reports", dependencies: ["Formats", "Results"]),
        .target(name: "Pipeline", dependencies: ["Autodiff", "Formats", "Specs", "Datasets", "Networks", "ONNX", "Vocabulary", "Victims", "Results", "Poisoning", "Distillation", "Evaluation", "Reports"]),
        // What the command line uses when the user names nothing: built-in specs, the
        // per-user folders, the commit it was built from (written by the BuildCommit plugin).
        .target(name: "Defaults", dependencies: ["Formats", "Specs"], plugins: ["BuildCommit"]),
        .plugin(name: "BuildCommit", capability: .buildTool()),
        .executableTarget(
            name: "amnesia",
            dependencies: [
                "Autodiff", "Formats", "Specs", "Datasets", "Networks", "ONNX", "Vocabulary", "Victims", "Results", "Poisoning", "Distillation", "Evaluation", "Reports", "Pipeline", "Defaults",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Helpers shared by the test targets (temporary folders, a seeded generator, an image folder).
        .target(name: "TestSupport", dependencies: ["Formats"], path: "Tests/TestSupport"),
        // A JPEG writer, so the tests make the JPEGs they read (Amnesia itself only reads them).
        .target(name: "CJPEGTestEncoder", dependencies: ["CJPEG"], path: "Tests/CJPEGTestEncoder"),
        // Sample reports and audits shared by the Results and Reports tests.
        .target(name: "ResultsFixtures", dependencies: ["Results", "Vocabulary"], path: "Tests/ResultsFixtures"),

        .testTarget(name: "AutodiffTests", dependencies: ["Autodiff"]),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Formats", "TestSupport", "CJPEGTestEncoder"]),
        .testTarget(name: "NetworksTests", dependencies: ["Networks"]),
        .testTarget(name: "ONNXTests", dependencies: ["ONNX", "Networks", "Autodiff"], exclude: ["Fixtures"]),
        .testTarget(name: "VictimsTests", dependencies: ["Victims", "Formats", "Specs", "TestSupport"]),
        .testTarget(name: "DistillationTests", dependencies: ["Distillation", "Poisoning", "Specs", "TestSupport"]),
        .testTarget(name: "ResultsTests", dependencies: ["Results", "ResultsFixtures"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Results", "ResultsFixtures", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Poisoning", "Results", "Victims"]),
        .testTarget(name: "DefaultsTests", dependencies: ["Defaults", "Specs", "Distillation", "Victims", "TestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Reports", "Results", "Formats", "Specs", "ONNX", "Vocabulary", "Poisoning", "TestSupport"]),
        // Runs the built `amnesia` binary (a dependency so the build makes it first).
        // Also checks the deploy/ templates (the Kubernetes manifest's fields, read with Yams).
        .testTarget(name: "CommandLineTests", dependencies: ["amnesia", "Formats", "TestSupport", .product(name: "Yams", package: "Yams")]),
    ]
)
