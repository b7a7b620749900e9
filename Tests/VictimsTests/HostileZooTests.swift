import Autodiff
import Datasets
import Formats
import Foundation
import Networks
import Specs
import Testing
import TestSupport
import Victims

/// Zoo specs, manifests and imported weights an attacker or a careless user could hand
/// Amnesia: each is a clear error (or a warning, where legal) and nothing is written
/// outside the victims folder.
@Suite("Hostile zoo inputs", .serialized)
struct HostileZooTests {
    @Test("SafeName accepts plain names and refuses climbing, hidden, empty, long and control-character names",
          arguments: ["..", ".", "../x", "a/b", "", ".hidden", "a\u{0}b", "tab\there", "/etc", String(repeating: "x", count: 129)])
    func unsafeNames(_ name: String) {
        #expect(SafeName.problem(name) != nil, "'\(name)' was accepted")
    }

    @Test("plain names are safe, and sanitized names always are")
    func safeNames() {
        for name in ["fashion-lenet", "zoo_2.v1", "A9"] { #expect(SafeName.problem(name) == nil) }
        for name in ["../../etc/passwd", "my model (1)", "\u{0}"] { #expect(SafeName.problem("x" + SafeName.sanitized(name)) == nil) }
        #expect(errorText { try SafeName.check("a/../x", key: "name", file: "z.yaml") }.contains("z.yaml: name 'a/../x' contains '/'"))
    }

    @Test("a zoo spec whose name climbs out of the victims folder is refused before anything is written",
          arguments: ["..", ".", "../../x", "a/b"])
    func climbingZooName(_ name: String) throws {
        let box = try Sandbox()
        let url = box.root.appendingPathComponent("zoo.yaml")
        try "name: '\(name)'\ndataset: synthetic\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(errorText { _ = try ZooSpec.load(url) }.contains("zoo.yaml: name"))
        #expect(errorText { _ = try Zoo.train(spec: ZooSpec(name: name), root: box.root) }.contains("it names a single folder"))
        #expect(box.escapes().isEmpty, "\(box.escapes())")
        let contents = try FileManager.default.contentsOfDirectory(atPath: box.root.path)
        #expect(contents == ["zoo.yaml"])
    }

    @Test("victims import --zoo with a climbing name is refused before anything is written")
    func climbingImportZoo() throws {
        let box = try Sandbox()
        let data = try PreparedData.load(dataset: "synthetic")
        for name in ["..", "../../x", "."] {
            let text = errorText {
                _ = try Zoo.openOrCreate(name: name, architecture: "lenet", dataset: "synthetic", dataDir: nil, root: box.root, data: data)
            }
            #expect(text.contains("--zoo '\(name)'"), "\(text)")
        }
        let contents = try FileManager.default.contentsOfDirectory(atPath: box.root.path)
        #expect(box.escapes().isEmpty && contents.isEmpty)
    }

    @Test("untrusted numbers in a zoo spec are errors naming the key", arguments: [
        ("seed: 18446744073709551615", "seed"), ("training:\n  batch_size: 9223372036854775807", "training.batch_size"),
        ("heldout: 9000000000000", "heldout"), ("training:\n  momentum: -5", "training.momentum"),
        ("training:\n  momentum: 1", "training.momentum"), ("training:\n  learning_rate: .nan", "training.learning_rate"),
        ("training:\n  weight_decay: .inf", "training.weight_decay"), ("training:\n  decay: -1", "training.decay"),
        ("seed: -1", "'seed' should be a whole number"),
    ])
    func badNumbers(_ line: String, _ key: String) throws {
        let url = try temporaryDirectory().appendingPathComponent("z.yaml")
        try "name: z\n\(line)\n".write(to: url, atomically: true, encoding: .utf8)
        let text = errorText { _ = try ZooSpec.load(url) }
        #expect(text.hasPrefix(url.path) && text.contains(key), "\(text)")
    }

    @Test("YAML type errors carry the line and column")
    func yamlLocation() {
        let text = errorText { _ = try SpecFile.decode(ZooSpec.self, yaml: "name: z\ntraining:\n  epochs: many\n", file: "z.yaml") }
        #expect(text.contains("'training.epochs' should be a whole number") && text.contains("line 3, column 11"), "\(text)")
        #expect(errorText { _ = try SpecFile.decode(ZooSpec.self, yaml: "name: [z\n", file: "z.yaml") }.contains("2:1"))
    }

    @Test("manifests: climbing files, held-out twins of crafting victims and malformed JSON are refused naming the file")
    func hostileManifests() throws {
        let root = try temporaryDirectory()
        let zoo = try Zoo.train(spec: ZooTests.tinySpec("tiny"), root: root, workers: 2)
        let url = zoo.directory.appendingPathComponent("manifest.json")
        let original = try Data(contentsOf: url)
        func opened(_ edit: (inout [[String: Any]]) -> Void) throws -> String {
            var manifest = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
            var victims = try #require(manifest["victims"] as? [[String: Any]])
            edit(&victims)
            manifest["victims"] = victims
            try JSONSerialization.data(withJSONObject: manifest).write(to: url)
            return errorText { _ = try Zoo(at: zoo.directory) }
        }
        let heldout = try #require(zoo.manifest.victims.firstIndex { $0.role == .heldout })
        #expect(try opened { $0[0]["file"] = "../../etc/passwd" }.contains("victim 'crafting-000' file '../../etc/passwd' starts with '.'"))
        #expect(try opened { $0[heldout]["file"] = "crafting-000.safetensors" }.contains("same file crafting-000.safetensors as crafting victim 'crafting-000'"))
        #expect(try opened { $0[heldout]["sha256"] = $0[0]["sha256"] }.contains("held-out results would include a victim the poison was crafted on"))
        let moved = try opened { $0[heldout]["role"] = "crafting" }
        #expect(moved == "accepted")
        let relabelled = try Zoo(at: zoo.directory)
        #expect(errorText { _ = try relabelled.parameters(of: relabelled.manifest.victims[heldout]) }
            .contains("the manifest says crafting but"))
        #expect(try opened { $0[0]["seed"] = "x" }.contains("\(url.path) is not a valid zoo manifest"))
        try Data("{".utf8).write(to: url)
        #expect(errorText { _ = try Zoo(at: zoo.directory) }.contains("is not a valid zoo manifest"))
    }

    @Test("an unknown architecture writes nothing; a zoo folder without victims does not block a corrected spec")
    func failedZooLeavesNothing() throws {
        let root = try temporaryDirectory()
        var spec = ZooTests.tinySpec("tiny")
        spec.architecture = "resnet"
        #expect(throws: (any Error).self) { try Zoo.train(spec: spec, root: root) }
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("tiny").path))

        spec = ZooTests.tinySpec("tiny")
        spec.heldout = 0
        spec.crafting = 1
        let zoo = try Zoo.train(spec: spec, root: root, workers: 1)
        let url = zoo.directory.appendingPathComponent("manifest.json")
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        manifest["victims"] = [Any]()
        try JSONSerialization.data(withJSONObject: manifest).write(to: url)
        let corrected = try Zoo.train(spec: ZooTests.tinySpec("tiny"), root: root, workers: 2)
        #expect(corrected.manifest.spec == ZooTests.tinySpec("tiny") && corrected.heldout.count == 1)
    }

    @Test("imported NaN or all-zero weights are refused; a victim below twice chance carries a warning")
    func hostileWeights() throws {
        let root = try temporaryDirectory()
        let data = try PreparedData.load(dataset: "synthetic")
        var zoo = try Zoo.openOrCreate(name: "imports", architecture: "lenet", dataset: "synthetic", dataDir: nil, root: root, data: data)
        let classifier = try zoo.classifier()
        var rng = SeededGenerator(seed: 1)
        let fresh = classifier.initialParameters(.pytorchDefault, using: &rng)
        func imported(_ edit: (Int, [Float]) -> [Float]) throws -> String {
            let parameters = fresh.enumerated().map { Tensor(shape: $1.shape, scalars: edit($0, $1.scalars)) }
            let url = root.appendingPathComponent("w.safetensors")
            try Zoo.weightsFile(parameters, classifier: classifier, metadata: [:]).write(to: url)
            return errorText { _ = try zoo.importWeights([url], data: data) }
        }
        #expect(try imported { i, v in i == 2 ? v.map { _ in .nan } : v }.contains("'conv2.weight' holds nan"))
        #expect(try imported { _, v in v.map { _ in 0 } }.contains("'conv1.weight' is all zeros"))
        #expect(zoo.manifest.victims.isEmpty)
        #expect(try imported { _, v in v } == "accepted")
        #expect(try imported { _, v in v }.contains("holds the same weights as victim 'imported-w'"), "the same weights imported twice")
        #expect(zoo.manifest.victims.count == 1)
        let record = try #require(zoo.manifest.victims.first)
        #expect(record.testAccuracy < 0.5 && record.warning?.contains("below twice chance") == true)
        #expect(VictimRecord.accuracyWarning(0.9, classes: 10) == nil && VictimRecord.accuracyWarning(0.15, classes: 10) != nil)
    }

    @Test("manifests: a std that is not a finite positive number and duplicate victims are refused naming the file")
    func untrustedNormalizationAndTwins() throws {
        let root = try temporaryDirectory()
        let zoo = try Zoo.train(spec: ZooTests.tinySpec("tiny"), root: root, workers: 2)
        let url = zoo.directory.appendingPathComponent("manifest.json")
        let original = try Data(contentsOf: url)
        func opened(_ edit: (inout [String: Any]) -> Void) throws -> String {
            var manifest = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
            edit(&manifest)
            try JSONSerialization.data(withJSONObject: manifest).write(to: url)
            return errorText { _ = try Zoo(at: zoo.directory) }
        }
        for std in [0.0, -1.0] {
            let text = try opened { $0["normalization"] = ["mean": [0.5], "std": [std]] }
            #expect(text.contains("\(url.path) is not a valid zoo manifest") && text.contains("std > 0"), "\(text)")
        }
        func victims(_ edit: @escaping (inout [[String: Any]]) -> Void) -> (inout [String: Any]) -> Void {
            { manifest in
                var list = manifest["victims"] as? [[String: Any]] ?? []
                edit(&list)
                manifest["victims"] = list
            }
        }
        let twinWeights = try opened(victims { $0[1]["sha256"] = $0[0]["sha256"] })
        #expect(twinWeights.contains("victims 'crafting-000' and 'crafting-001' have the same weights"), "\(twinWeights)")
        let twinFile = try opened(victims { $0.append($0[$0.count - 1]); $0[$0.count - 1]["id"] = "heldout-copy" })
        #expect(twinFile.contains("have the same file heldout-000.safetensors"), "\(twinFile)")
        #expect(try opened { _ in } == "accepted")
    }

    @Test("a reader's shared lock and a writer's exclusive one refuse each other; a zoo changed since it was opened is refused")
    func readersAndWriters() throws {
        let root = try temporaryDirectory()
        let spec = ZooTests.tinySpec("tiny")
        let zoo = try Zoo.train(spec: spec, root: root, workers: 2)
        try withExtendedLifetime(FolderLock(zoo.directory, .exclusive, purpose: "training this zoo")) {
            let text = errorText { _ = try zoo.readLock(purpose: "attacking this zoo") }
            #expect(text.contains("another amnesia process (pid \(getpid())) is training this zoo"), "\(text)")
        }
        try withExtendedLifetime(zoo.readLock(purpose: "attacking this zoo")) {
            let text = errorText { _ = try Zoo.train(spec: spec, root: root, workers: 1) }
            #expect(text.contains("cannot start training this zoo: another amnesia process (pid \(getpid())) is attacking this zoo"), "\(text)")
        }
        let url = zoo.directory.appendingPathComponent("manifest.json")
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        manifest["victims"] = (manifest["victims"] as? [Any])?.dropLast().map { $0 }
        try JSONSerialization.data(withJSONObject: manifest).write(to: url)
        #expect(errorText { _ = try zoo.readLock(purpose: "attacking this zoo") }.contains("changed on disk since it was opened"))
    }
}
