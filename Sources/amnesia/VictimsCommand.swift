import ArgumentParser
import Datasets
import Defaults
import Formats
import Foundation
import ONNX
import Specs
import Victims
import Vocabulary

struct VictimsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "victims",
        abstract: "Train, list, show and import victim zoos.",
        discussion: """
            A zoo is a set of classifiers of one architecture trained on one dataset with \
            different seeds, split into crafting victims (the attacker may use them) and held-out \
            victims (evaluation only). Zoos live in <victims-dir>/<name>/ with a manifest.json.
            """,
        subcommands: [Train.self, List.self, Show.self, Import.self])
}

/// Where zoos live.
struct ZooRootOption: ParsableArguments {
    @Option(name: .customLong("victims-dir"), help: "Folder holding the zoos (how the default is chosen: amnesia --help).")
    var path = Locations.current.victims

    var url: URL { URL(fileURLWithPath: path) }

    func validate() throws { try checkFolderOption(path, option: "--victims-dir", writable: false) }
}

extension VictimsCommand {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train every victim of a zoo spec (resumes where an earlier run stopped).",
            discussion: """
                Example: amnesia victims train victims/fashion-lenet.yaml
                On a cluster, N tasks sharing the victims folder each train their share (--shard I/N, \
                or the index from SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX \
                with --shards N); each victim's weights are the same bytes whatever N is. Running it \
                once more without a shard checks the zoo and trains whatever a failed task left out.
                Example: amnesia victims train victims/fashion-lenet.yaml --shard 1/4
                """)

        @Argument(help: ArgumentHelp("A zoo spec (YAML), e.g. victims/fashion-lenet.yaml.", discussion: specArgumentHelp))
        var spec: String

        @OptionGroup var root: ZooRootOption

        @Option(help: "The dataset's folder (replaces the spec's data_dir; default: the dataset's usual place, e.g. /usr/share/datasets/fashion-mnist).")
        var dataDir: String?

        @Option(help: "Victims trained side by side (one core each).")
        var workers = ProcessInfo.processInfo.activeProcessorCount

        @OptionGroup var sharding: ShardOptions

        func run() throws {
            let shard = try sharding.resolve()
            let spec = try loadZooSpec(self.spec, dataDir: dataDir)
            let zoo = try trainZoo(spec, root: root.url, workers: workers, shard: shard)
            let part = shard == .whole ? "" : " (shard \(shard) done; the zoo so far)"
            print("zoo '\(zoo.name)'\(part): \(zoo.crafting.count) crafting, \(zoo.heldout.count) held-out victims in \(zoo.directory.path)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the zoos and their sizes.")
        @OptionGroup var root: ZooRootOption

        func run() throws {
            let zoos = Zoo.list(root: root.url)
            if zoos.isEmpty { print("no zoos under \(root.path); train one with `amnesia victims train SPEC`") }
            for zoo in zoos {
                let accuracies = zoo.manifest.victims.map(\.testAccuracy)
                let mean = accuracies.isEmpty ? 0 : accuracies.reduce(0, +) / Double(accuracies.count)
                print("\(zoo.name)\t\(zoo.manifest.spec.architecture)/\(zoo.manifest.spec.dataset)\t\(zoo.crafting.count) crafting + \(zoo.heldout.count) held-out\tmean test accuracy \(String(format: "%.4f", mean))")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every victim of a zoo.")
        @Argument(help: "The zoo's name (its folder under --victims-dir) or path.")
        var zoo: String
        @OptionGroup var root: ZooRootOption

        func run() throws {
            let zoo = try openZoo(zoo, root: root.url)
            print("zoo \(zoo.name): \(zoo.manifest.spec.architecture) on \(zoo.manifest.spec.dataset), input \(zoo.manifest.inputShape), normalization mean \(zoo.manifest.normalization.mean) std \(zoo.manifest.normalization.std)")
            print("id\trole\tseed\tsource\ttest accuracy\tfile")
            for v in zoo.manifest.victims {
                print("\(v.id)\t\(v.role.rawValue)\t\(v.seed)\t\(v.source)\t\(String(format: "%.4f", v.testAccuracy))\t\(v.file)")
            }
        }
    }

    struct Import: ParsableCommand {
        /// Largest gap between Amnesia's and the exporter's test accuracy accepted without a
        /// warning: a few test images, from float rounding near a decision boundary.
        static let accuracyTolerance = 0.002

        /// The `test_accuracy` an ONNX file's metadata_props records, if any.
        private func exporterAccuracy(_ url: URL) -> Double? {
            guard url.pathExtension.lowercased() == "onnx", let model = try? OnnxModel(contentsOf: url),
                  let text = model.metadata["test_accuracy"], let value = Double(text), (0...1).contains(value) else { return nil }
            return value
        }

        static let configuration = CommandConfiguration(
            abstract: "Add classifiers trained elsewhere (ONNX models, or PyTorch state_dicts as safetensors) to a zoo.",
            discussion: """
                ONNX: any classifier torch.onnx.export wrote (opset 13-21, with or without constant \
                folding) built from the supported ops: Conv, Gemm, MatMul, Add, Sub, Mul, Div, Relu, \
                LeakyRelu, Sigmoid, Tanh, MaxPool, AveragePool, GlobalAveragePool, BatchNormalization, \
                Flatten, Reshape, Transpose, Concat, Identity, Dropout, Softmax/LogSoftmax last. The \
                first file's graph becomes the zoo's architecture (model.onnx in its folder); later \
                files must have the same graph. In PyTorch: model.eval(); torch.onnx.export(model, \
                torch.zeros(1, 1, 28, 28), "model.onnx", dynamo=False, dynamic_axes={"input": {0: "N"}}). \
                Example: amnesia victims import --zoo mine --dataset fashion-mnist model.onnx

                safetensors: tensor names and shapes must match the architecture's state_dict exactly \
                (LeNet: conv1.weight [6,1,5,5], conv1.bias, conv2.*, fc1.*, fc2.*, fc3.*). In PyTorch: \
                safetensors.torch.save_file(model.state_dict(), "model.safetensors").

                Either way the model must expect inputs normalized with the zoo's mean and std (see \
                `victims show`).
                """)

        @Option(help: "Architecture of imported safetensors weights (lenet, mlp, convnet, alexcifarnet); ONNX files bring their own.")
        var arch = "lenet"
        @Option(help: "For a new zoo of ONNX models with BatchNormalization: its behaviour in the victim's poisoned step, eval (frozen statistics) or train (batch statistics, running ones updated).")
        var batchNorm = BatchNormMode.eval.rawValue
        @Option(help: "Dataset the weights were trained on.")
        var dataset = "fashion-mnist"
        @Option(help: "Folder with the dataset's files (default: the dataset's usual location).")
        var dataDir: String?
        @Option(help: "Zoo to add them to (created if missing).")
        var zoo = "imported"
        @Option(help: "Role of the imported victims: heldout or crafting.")
        var role = VictimRole.heldout.rawValue
        @Option(help: "The test accuracy the exporter measured, one per file in order (default: an ONNX file's metadata_props test_accuracy); a warning when Amnesia's differs by more than 0.002.")
        var expectedAccuracy: [Double] = []
        @OptionGroup(title: "Image folder options") var images: ImageOptionsGroup
        @Argument(help: "ONNX (.onnx) or safetensors files to import.")
        var weights: [String]
        @OptionGroup var root: ZooRootOption

        func run() throws {
            guard let role = VictimRole(rawValue: role), VictimRole.zooRoles.contains(role) else {
                throw ValidationError("--role must be heldout or crafting, got '\(role)'")
            }
            guard let batchNorm = BatchNormMode(rawValue: batchNorm) else {
                throw ValidationError("--batch-norm must be eval or train, got '\(batchNorm)'")
            }
            let files = weights.map { URL(fileURLWithPath: $0) }
            let onnx = files.filter { $0.pathExtension.lowercased() == "onnx" }
            guard onnx.isEmpty || onnx.count == files.count else {
                throw ValidationError("import either ONNX files or safetensors files in one call, not both")
            }
            if let message = SafeName.describe(zoo, key: "--zoo") { throw ValidationError(message) }
            guard expectedAccuracy.isEmpty || expectedAccuracy.count == files.count,
                  expectedAccuracy.allSatisfy({ (0...1).contains($0) }) else {
                throw ValidationError("--expected-accuracy takes one accuracy in [0, 1] per imported file (\(files.count) files, got \(expectedAccuracy))")
            }
            let imageOptions = try images.options()
            // Held from before the manifest is read until after it is written, so two imports
            // (or an import and a training run) into one zoo cannot lose each other's victims.
            let lock = try FolderLock(root.url.appendingPathComponent(zoo), .exclusive, purpose: "importing into this zoo")
            defer { withExtendedLifetime(lock) {} }
            let directory = root.url.appendingPathComponent(zoo)
            let existing = try? Zoo(at: directory)
            if let existing, existing.manifest.spec.images != imageOptions {
                throw ValidationError("zoo '\(zoo)' reads its images with \(existing.manifest.spec.images.map { "\($0)" } ?? "no image options"); give the same image options, or import into a new --zoo")
            }
            let records: [VictimRecord]
            do {
                var spec = ZooSpec(name: zoo)
                (spec.dataset, spec.dataDir, spec.images) = (dataset, dataDir, imageOptions)
                let data = try spec.loadData(cacheIn: directory, normalization: existing?.manifest.normalization)
                if let summary = data.summary { Console.shared.say(summary) }
                var target = try Zoo.openOrCreate(name: zoo, architecture: onnx.isEmpty ? arch : Zoo.onnxArchitecture, dataset: dataset,
                                                  dataDir: dataDir, images: imageOptions, root: root.url, data: data,
                                                  onnxGraph: onnx.first, batchNorm: batchNorm)
                records = try target.importWeights(files, role: role, data: data)
            } catch {
                // A zoo this command created and could not fill is not left behind, empty.
                if existing == nil { try? FileManager.default.removeItem(at: directory) }
                throw error
            }
            for (index, record) in records.enumerated() {
                let expected = expectedAccuracy.isEmpty ? exporterAccuracy(files[index]) : expectedAccuracy[index]
                let check = expected.map { String(format: " (exporter: %.4f, difference %+.4f)", $0, record.testAccuracy - $0) } ?? ""
                print("imported \(record.id) (\(record.role.rawValue)): test accuracy \(String(format: "%.4f", record.testAccuracy))\(check)")
                if let warning = record.warning { Console.shared.say("warning: \(record.id): \(warning)") }
                if let expected, abs(record.testAccuracy - expected) > Self.accuracyTolerance {
                    Console.shared.say("warning: \(record.id): Amnesia's test accuracy \(String(format: "%.4f", record.testAccuracy)) differs from the exporter's \(String(format: "%.4f", expected)) by more than \(Self.accuracyTolerance): the images are not read as the model was trained on them (check --resize, --center-crop, --channels, --mean/--std and the class order) or the export changed the model")
                }
            }
        }
    }
}

/// Opens a zoo by name under `root`, or by path.
func openZoo(_ nameOrPath: String, root: URL) throws -> Zoo {
    let byName = root.appendingPathComponent(nameOrPath)
    if FileManager.default.fileExists(atPath: byName.appendingPathComponent("manifest.json").path) {
        return try Zoo(at: byName)
    }
    return try Zoo(at: URL(fileURLWithPath: nameOrPath))
}

/// Trains (or resumes) a zoo with progress lines on standard error.
func trainZoo(_ spec: ZooSpec, root: URL, workers: Int, shard: Shard = .whole) throws -> Zoo {
    let console = Console.shared
    let start = Date()
    let part = shard == .whole ? "" : " (shard \(shard): victim i when i mod \(shard.count) = \(shard.index))"
    console.say("training zoo '\(spec.name)'\(part): \(spec.crafting) crafting + \(spec.heldout) held-out \(spec.architecture) victims on \(spec.dataset), \(workers) at a time")
    return try Zoo.train(spec: spec, root: root, workers: workers, shard: shard) { event in
        switch event {
        case let .kept(id):
            console.say("  \(id): already trained, kept")
        case let .started(id, index, total):
            console.say("  victim \(index)/\(total) \(id): training")
        case let .progress(id, p):
            console.progress(id, "  \(id): epoch \(p.epoch)/\(p.epochs) batch \(p.batch)/\(p.batches) loss \(String(format: "%.4f", p.loss)) \(Int(p.imagesPerSecond)) img/s")
        case let .finished(record, seconds):
            console.say("  \(record.id): test accuracy \(String(format: "%.4f", record.testAccuracy)) in \(formatDuration(seconds)) (total \(formatDuration(Date().timeIntervalSince(start))))")
            if let warning = record.warning { console.say("  warning: \(record.id): \(warning)") }
        }
    }
}

extension ZooError: LocalizedError { public var errorDescription: String? { message } }
extension OnnxError: LocalizedError { public var errorDescription: String? { message } }
extension SpecError: LocalizedError { public var errorDescription: String? { description } }
