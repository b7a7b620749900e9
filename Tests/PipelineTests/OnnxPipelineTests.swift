import Datasets
import Distillation
import Formats
import Foundation
import ONNX
import Pipeline
import Reports
import Results
import Specs
import SwiftProtobuf
import Testing
import TestSupport
import Victims

/// The models Tests/ONNXTests/Fixtures/export_fixtures.py exported with PyTorch.
private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("ONNXTests/Fixtures")

/// One epoch in batches of 10: crafting victims trained in a moment on the image folder fixture.
private let tinyRecipe = {
    var recipe = TrainingRecipe()
    (recipe.epochs, recipe.batchSize, recipe.decayEpochs) = (1, 10, [])
    return recipe
}()

/// A poison in the format any tool can write: one image per class, K = 0, T = 1.
private func writePoison(_ url: URL) throws {
    var file = SafeTensors(metadata: ["dataset": "image-folder", "mean": "0.2", "std": "0.3", "K": "0", "T": "1"])
    var rng = SplitMix64(seed: 9)
    try file.add(name: "images", floats: (0..<(10 * 784)).map { _ in Float.random(in: -1...2, using: &rng) }, shape: [10, 1, 28, 28])
    try file.add(name: "labels", int64s: (0..<10).map { Int64(($0 + 1) % 10) }, shape: [10])
    try file.add(name: "lrs", floats: [0.05], shape: [1])
    try file.write(to: url)
}

@Suite("Imported ONNX victims go through the pipeline like built-in ones", .serialized)
struct OnnxPipelineTests {
    @Test("an ONNX LeNet on an image folder is evaluated exactly as the same weights in Amnesia's LeNet")
    func onnxLeNetEqualsNative() throws {
        try withTempDir { root in
            let images = try makeImageFolder(root.appendingPathComponent("images")).path
            let victims = root.appendingPathComponent("victims")
            let data = try PreparedData.load(dataset: "image-folder", directory: images)
            #expect(data.info.numClasses == 10 && data.inputShape == [1, 28, 28])

            let onnxFile = fixtures.appendingPathComponent("lenet.onnx")
            var onnxZoo = try Zoo.openOrCreate(name: "onnx-lenet", architecture: Zoo.onnxArchitecture, dataset: "image-folder",
                                               dataDir: images, root: victims, data: data, onnxGraph: onnxFile)
            _ = try onnxZoo.importWeights([onnxFile], role: .heldout, data: data)

            // The same weights as a state_dict for the built-in LeNet.
            let model = try OnnxModel(contentsOf: onnxFile)
            var weights = SafeTensors(metadata: [:])
            for (spec, value) in zip(model.parameterSpecs, model.fileParameters) {
                try weights.add(name: spec.name, floats: value.scalars, shape: spec.shape)
            }
            let native = root.appendingPathComponent("lenet.safetensors")
            try weights.write(to: native)
            var nativeZoo = try Zoo.openOrCreate(name: "native-lenet", architecture: "lenet", dataset: "image-folder",
                                                 dataDir: images, root: victims, data: data)
            _ = try nativeZoo.importWeights([native], role: .heldout, data: data)

            // Reopened from disk, as `amnesia evaluate` would.
            let poison = root.appendingPathComponent("poison.safetensors")
            try writePoison(poison)
            let reports = root.appendingPathComponent("reports")
            let onnxReport = try PoisonEvaluation(poisonURL: poison, overrides: .init(), zoo: Zoo(at: onnxZoo.directory), reportsRoot: reports).run()
            let nativeReport = try PoisonEvaluation(poisonURL: poison, overrides: .init(), zoo: Zoo(at: nativeZoo.directory), reportsRoot: reports).run()
            #expect(onnxReport.results.heldout.victims.count == 1)
            #expect(onnxReport.results.heldout.victims.map(\.before) == nativeReport.results.heldout.victims.map(\.before))
            #expect(onnxReport.results.heldout.victims.map(\.after) == nativeReport.results.heldout.victims.map(\.after))
            #expect(onnxReport.baselines == nativeReport.baselines)
        }
    }

    @Test("an attack crafts on an imported residual net with BatchNorm (batch_norm: train) and scores another", arguments: [BatchNormMode.train, .eval])
    func attackOnResidualNets(_ mode: BatchNormMode) throws {
        try withTempDir { root in
            let images = try makeImageFolder(root.appendingPathComponent("images")).path
            let victims = root.appendingPathComponent("victims")
            let data = try PreparedData.load(dataset: "image-folder", directory: images)
            let (first, second) = (fixtures.appendingPathComponent("resnet.onnx"), fixtures.appendingPathComponent("resnet-b.onnx"))
            var zoo = try Zoo.openOrCreate(name: "resnets", architecture: Zoo.onnxArchitecture, dataset: "image-folder",
                                           dataDir: images, root: victims, data: data, onnxGraph: first, batchNorm: mode)
            _ = try zoo.importWeights([first], role: .crafting, data: data)
            _ = try zoo.importWeights([second], role: .heldout, data: data)
            zoo = try Zoo(at: zoo.directory)
            #expect(zoo.manifest.spec.batchNorm == (mode == .eval ? nil : mode))
            // The folded export is another graph: refused for this zoo.
            #expect(throws: ZooError.self) { var copy = zoo; _ = try copy.importWeights([fixtures.appendingPathComponent("resnet-folded.onnx")], data: data) }

            var spec = AttackSpec(name: "resnet-attack", zoo: "resnets", forget: "class-0", target: "class-1")
            (spec.imagesPerClass, spec.iterations, spec.victimsPerIteration, spec.realBatchSize) = (1, 3, 1, 20)
            let run = try AttackRun(spec: spec, zoo: zoo, reportsRoot: root.appendingPathComponent("reports"), data: data)
            let crafted = try #require(try run.craft(resume: false))
            #expect(crafted.poison.images.scalars.allSatisfy { $0.isFinite })
            let report = try run.evaluate(crafted.poison)
            #expect(report.results.heldout.victims.map(\.id) == ["imported-resnet-b"])
            let after = report.results.heldout.summary.after
            #expect(after.accuracy.mean.isFinite && (0...1).contains(after.asr.mean))
        }
    }

    @Test("a zoo of an imported architecture trains from PyTorch's initialization, batch norm in train mode")
    func zooOfImportedArchitectureTrains() throws {
        try withTempDir { root in
            let images = try makeImageFolder(root.appendingPathComponent("images")).path
            let victims = root.appendingPathComponent("victims")
            var spec = ZooSpec(name: "resnet-zoo")
            (spec.architecture, spec.dataset, spec.dataDir) = (Zoo.onnxArchitecture, "image-folder", images)
            (spec.crafting, spec.heldout, spec.seed) = (1, 1, 4)
            (spec.training.epochs, spec.training.batchSize, spec.training.decayEpochs) = (2, 10, [])
            #expect(throws: ZooError.self) { try Zoo.train(spec: spec, root: victims, workers: 1) }   // no onnx_model

            let file = fixtures.appendingPathComponent("resnet.onnx")
            spec.onnxModel = file.path
            let zoo = try Zoo.train(spec: spec, root: victims, workers: 2)
            #expect(zoo.manifest.victims.map(\.id) == ["crafting-000", "heldout-000"])
            let stored = try OnnxModel(contentsOf: file)
            let index = try #require(stored.parameterSpecs.firstIndex { $0.name == "bn.running_mean" })
            for record in zoo.manifest.victims {
                let p = try zoo.parameters(of: record)
                #expect(p.allSatisfy { $0.scalars.allSatisfy { $0.isFinite } })
                #expect(p[0].scalars != stored.fileParameters[0].scalars, "trained from a fresh initialization")
                // Running statistics start at zero and are moved only by train-mode passes.
                #expect(p[index].scalars.contains { $0 != 0 }, "\(record.id): running mean never updated")
            }
            // Resuming with the same spec keeps both victims.
            #expect(try Zoo.train(spec: spec, root: victims, workers: 1).manifest.victims.count == 2)
        }
    }

    @Test("audit --model: a zoo of the model's architecture is trained once, the model is its held-out victim, the audit runs")
    func auditOfTheUsersModel() throws {
        try withTempDir { root in
            let images = try makeImageFolder(root.appendingPathComponent("images")).path
            let victims = root.appendingPathComponent("victims")
            let model = fixtures.appendingPathComponent("resnet.onnx")
            let make = { try ModelAudit.zoo(model: model, dataset: "image-folder", dataDir: images, crafting: 1, training: tinyRecipe,
                                            batchNorm: .train, root: victims) }
            let zoo = try make()
            // Every setting away from the defaults is in the name: another one trains a zoo of its own.
            #expect(zoo.name.hasPrefix("audit-resnet-c1-recipe-") && zoo.name.hasSuffix("-bn-train"), "\(zoo.name)")
            #expect(ModelAudit.zooName(model: model, crafting: ModelAudit.defaultCrafting, training: TrainingRecipe(), batchNorm: nil) == "audit-resnet")
            #expect(zoo.crafting.map(\.id) == ["crafting-000"] && zoo.heldout.map(\.id) == ["imported-resnet"])
            #expect(try make().manifest.victims.count == 2, "a second call reuses the zoo and the imported model")

            var template = AttackSpec(name: "audit", zoo: zoo.name, forget: "0", target: "1")
            (template.imagesPerClass, template.iterations, template.victimsPerIteration, template.realBatchSize) = (1, 2, 1, 20)
            let audit = try Audit(zoo: zoo, template: template, pairs: [(0, 1)], reportsRoot: root.appendingPathComponent("reports"))
            let report = try #require(try audit.run())
            #expect(report.pairs.count == 1 && (0...1).contains(report.pairs[0].asr.mean))
        }
    }

    @Test("audit --model on an ONNX LeNet: gray-box, white-box and oracle per pair, resumed, sharded and merged")
    func whiteBoxAuditOfTheUsersModel() throws {
        try withTempDir { root in
            let images = try makeImageFolder(root.appendingPathComponent("images")).path
            let victims = root.appendingPathComponent("victims")
            let model = root.appendingPathComponent("lenet.onnx")
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent("lenet.onnx"), to: model)
            let imported = try ModelAudit.zoo(model: model, dataset: "image-folder", dataDir: images, crafting: 1, training: tinyRecipe,
                                           batchNorm: nil, root: victims)
            #expect(imported.name == ModelAudit.zooName(model: model, crafting: 1, training: tinyRecipe, batchNorm: nil))
            #expect(imported.heldout.map(\.id) == ["imported-lenet"])
            // The model retrained and saved under the same name: the audit scores the new weights, not the earlier import.
            var retrained = try Onnx_ModelProto(serializedBytes: Data(contentsOf: model))
            let index = try #require(retrained.graph.initializer.firstIndex { $0.floatData.count > 1 || $0.rawData.count > 4 })
            if retrained.graph.initializer[index].floatData.count > 1 {
                retrained.graph.initializer[index].floatData[0] += 0.25
            } else {
                retrained.graph.initializer[index].rawData[0] ^= 0x40
            }
            try retrained.serializedData().write(to: model)
            let messages = Messages()
            let zoo = try ModelAudit.zoo(model: model, dataset: "image-folder", dataDir: images, crafting: 1, training: tinyRecipe,
                                         batchNorm: nil, root: victims, say: { messages.add($0) })
            #expect(zoo.heldout.count == 1 && zoo.heldout[0].sha256 != imported.heldout[0].sha256, "\(zoo.heldout.map(\.id))")
            #expect(messages.all.contains { $0.contains("holds other weights than when the audit imported it") })
            let again = try ModelAudit.zoo(model: model, dataset: "image-folder", dataDir: images, crafting: 1, training: tinyRecipe,
                                           batchNorm: nil, root: victims)
            #expect(again.manifest.victims == zoo.manifest.victims, "unchanged weights are not imported twice")
            // The name carries the settings, not the data: other images meet the earlier zoo and say what differs.
            let moved = try makeImageFolder(root.appendingPathComponent("other-images")).path
            let refusal = errorText {
                _ = try ModelAudit.zoo(model: model, dataset: "image-folder", dataDir: moved, crafting: 1, training: tinyRecipe,
                                       batchNorm: nil, root: victims)
            }
            #expect(refusal.contains("holds the crafting victims of an earlier audit with other settings (data_dir \"\(images)\" then, \"\(moved)\" now)"), "\(refusal)")
            #expect(refusal.contains("give another --victims-dir to keep both"))

            var template = AttackSpec(name: "audit", zoo: zoo.name, forget: "0", target: "1")
            (template.imagesPerClass, template.iterations, template.victimsPerIteration, template.realBatchSize) = (1, 2, 1, 20)
            let reports = root.appendingPathComponent("reports")
            // First without the white-box bound: the pair is saved without it.
            let gray = try #require(try Audit(zoo: zoo, template: template, pairs: [(0, 1)], reportsRoot: reports).run())
            #expect(gray.pairs.count == 1 && gray.pairs[0].whiteBox == nil && gray.pairs[0].oracle != nil)

            // Asked for it, in two shards: the plan needs it, so the pair saved without it is missing until re-scored.
            var audit = try Audit(zoo: zoo, template: template, pairs: [(0, 1), (2, 3)], reportsRoot: reports)
            audit.whiteBox = true
            _ = try audit.run(shard: Shard(parsing: "1/2"), workers: 1)
            let partial = try Audit.merge(audit.directory)
            #expect(partial.report.pairs.map { [$0.forget, $0.target] } == [[2, 3]])
            #expect(partial.missing.map { [$0.forget, $0.target] } == [[0, 1]])
            _ = try audit.run(shard: Shard(parsing: "0/2"), workers: 1)
            let merged = try Audit.merge(audit.directory)
            #expect(merged.missing.isEmpty && merged.report.pairs.count == 2)

            let first = try #require(merged.report.pairs.first { $0.forget == 0 && $0.target == 1 })
            #expect(first.asr == gray.pairs[0].asr, "the gray-box cell is re-scored from its saved poison")
            for pair in merged.report.pairs {
                let white = try #require(pair.whiteBox)
                // Crafted on the model and scored on it, read against the gray-box cell's oracle (the same model's).
                #expect(white.victims == ["imported-lenet"] && white.asr.count == 1 && (0...1).contains(white.asr.mean))
                let (oracle, whiteOracle) = (try #require(pair.oracle), try #require(white.oracle))
                #expect(whiteOracle.oracleASR == oracle.oracleASR && whiteOracle.oracleOtherDrop == oracle.oracleOtherDrop)
            }
            let runs = try FileManager.default.contentsOfDirectory(atPath: audit.directory.appendingPathComponent("runs").path)
            #expect(runs.filter { $0.hasPrefix("audit-0-1-white-box-") }.count == 1 && runs.filter { $0.hasPrefix("audit-0-1-") }.count == 2)
            #expect(merged.report.config["white_box"] != nil && merged.report.config["zoo.training.epochs"] == "1")

            try ReportWriter.write(audit: merged.report, to: audit.directory)
            let json = try Data(contentsOf: audit.directory.appendingPathComponent(ReportWriter.auditJSONName))
            #expect(try AuditReport(jsonData: json) == merged.report)
            let md = try String(contentsOf: audit.directory.appendingPathComponent("audit.md"), encoding: .utf8)
            #expect(md.contains("White-box: crafted on your weights") && md.contains("Oracle: unlimited poisoning"))
            let csv = try String(contentsOf: audit.directory.appendingPathComponent(ReportWriter.auditMatrixName), encoding: .utf8)
            #expect(csv.split(separator: "\n").count == 3 && csv.contains("white_box_asr_mean") && csv.contains("oracle_asr_mean"))
        }
    }
}
