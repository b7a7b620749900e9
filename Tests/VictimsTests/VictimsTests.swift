import Autodiff
import Datasets
import Formats
import Foundation
import Networks
import Specs
import Testing
import TestSupport
import Victims

@Suite("Zoo specs")
struct ZooSpecTests {
    @Test("a spec with defaults decodes; unknown keys are named with the file")
    func strictKeys() throws {
        let spec = try SpecFile.decode(ZooSpec.self, yaml: "name: z\ncrafting: 2\ntraining:\n  epochs: 1\n", file: "z.yaml")
        #expect(spec.crafting == 2 && spec.heldout == 8 && spec.training.epochs == 1 && spec.training.batchSize == 64)
        do {
            _ = try SpecFile.decode(ZooSpec.self, yaml: "name: z\ntraining:\n  epoch: 1\n", file: "z.yaml")
            Issue.record("an unknown key was accepted")
        } catch let error as SpecError {
            #expect(error.description.contains("z.yaml"))
            #expect(error.description.contains("unknown key 'epoch'"))
            #expect(error.description.contains("training.epoch"))
        }
    }

    @Test("bad values are refused with the key named")
    func badValues() throws {
        let url = try temporaryDirectory().appendingPathComponent("bad.yaml")
        try "name: z\ntraining:\n  optimizer: rmsprop\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: SpecError.self) { try ZooSpec.load(url) }
        do { _ = try ZooSpec.load(url) } catch { #expect("\(error)".contains("training.optimizer")) }
    }

    @Test("the shipped zoo specs load, and the wide zoo shares the default's held-out victims")
    func shippedSpec() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("victims")
        let spec = try ZooSpec.load(folder.appendingPathComponent("fashion-lenet.yaml"))
        #expect(spec.name == "fashion-lenet" && spec.architecture == "lenet" && spec.heldout > 0)
        let wide = try ZooSpec.load(folder.appendingPathComponent("fashion-lenet-wide.yaml"))
        #expect(wide.name == "fashion-lenet-wide" && wide.crafting == 48 && wide.snapshotEpochs == [2, 3])
        #expect(wide.seed == spec.seed && wide.heldout == spec.heldout && wide.training == spec.training)
    }
}

@Suite("Zoo training, resume and import", .serialized)
struct ZooTests {
    static func tinySpec(_ name: String) -> ZooSpec {
        var spec = ZooSpec(name: name)
        spec.dataset = "synthetic"
        (spec.crafting, spec.heldout, spec.seed) = (2, 1, 5)
        spec.training.epochs = 2
        spec.training.batchSize = 16
        spec.training.decayEpochs = []
        return spec
    }

    @Test("zero epochs keep each victim's seeded initialization; train_classes trains on those classes only and is checked")
    func initializationsAndTasks() throws {
        let root = try temporaryDirectory()
        var spec = Self.tinySpec("inits")
        (spec.training.epochs, spec.training.initialization) = (0, .xavierNormal)
        let zoo = try Zoo.train(spec: spec, root: root, workers: 1)
        let classifier = try zoo.classifier()
        var rng = SeededGenerator(seed: zoo.heldout[0].seed)
        let expected = classifier.initialParameters(.xavierNormal, using: &rng)
        #expect(try zoo.parameters(of: zoo.heldout[0]).map(\.scalars) == expected.map(\.scalars))
        #expect(zoo.manifest.victims.allSatisfy { $0.warning == nil })

        var task = Self.tinySpec("task")
        task.trainClasses = [0, 1]
        let trained = try Zoo.train(spec: task, root: root, workers: 2)
        #expect(trained.manifest.victims.allSatisfy { $0.perClassAccuracy[2] == 0 && $0.perClassAccuracy[3] == 0 && $0.perClassAccuracy[0] > 0.5 })
        task.name = "task-bad"
        task.trainClasses = [0, 9]
        #expect(errorText { _ = try Zoo.train(spec: task, root: root) }.contains("train_classes entry 9 is not a class"))
        let url = root.appendingPathComponent("z.yaml")
        try "name: z\ntrain_classes: [1, 1]\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(errorText { _ = try ZooSpec.load(url) }.contains("train_classes must list distinct class indices"))
    }

    @Test("trains every victim with disjoint seeds, records them, and resumes without retraining")
    func trainAndResume() throws {
        let root = try temporaryDirectory()
        let spec = Self.tinySpec("tiny")
        let zoo = try Zoo.train(spec: spec, root: root, workers: 2)
        #expect(zoo.crafting.map(\.id) == ["crafting-000", "crafting-001"])
        #expect(zoo.heldout.map(\.seed) == [5 + ZooSpec.heldoutSeedOffset])
        #expect(Set(zoo.crafting.map(\.seed)).isDisjoint(with: zoo.heldout.map(\.seed)))
        #expect(zoo.manifest.victims.allSatisfy { $0.testAccuracy > 0.9 }, "\(zoo.manifest.victims.map(\.testAccuracy))")
        #expect(zoo.manifest.victims.allSatisfy { $0.sha256.count == 64 && $0.perClassAccuracy.count == 4 })

        // Remove one victim as if the run had been interrupted: only it is retrained.
        try FileManager.default.removeItem(at: zoo.directory.appendingPathComponent("crafting-001.safetensors"))
        let events = EventLog()
        let resumed = try Zoo.train(spec: spec, root: root, workers: 1) { events.append($0) }
        #expect(events.kept == ["crafting-000", "heldout-000"])
        #expect(events.started == ["crafting-001"])
        #expect(resumed.manifest.victims.first { $0.id == "crafting-001" }?.sha256
                == zoo.manifest.victims.first { $0.id == "crafting-001" }?.sha256, "training is deterministic")

        var other = spec
        other.heldout = 3
        #expect(throws: ZooError.self) { try Zoo.train(spec: other, root: root) }

        // `known` is a role in reports only: a manifest that gives it to a victim is refused.
        let manifestURL = zoo.directory.appendingPathComponent("manifest.json")
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        var victims = try #require(manifest["victims"] as? [[String: Any]])
        victims[0]["role"] = "known"
        manifest["victims"] = victims
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        #expect(throws: ZooError.self) { try Zoo(at: zoo.directory) }
    }

    @Test("snapshot epochs add staggered crafting victims, never held-out ones, and count for resume")
    func snapshots() throws {
        let root = try temporaryDirectory()
        var spec = Self.tinySpec("staggered")
        spec.snapshotEpochs = [1]
        let zoo = try Zoo.train(spec: spec, root: root, workers: 2)
        #expect(zoo.crafting.map(\.id) == ["crafting-000", "crafting-000-e1", "crafting-001", "crafting-001-e1"])
        #expect(zoo.crafting.map(\.epoch) == [nil, 1, nil, 1])
        #expect(zoo.heldout.map(\.id) == ["heldout-000"])
        let first = try zoo.parameters(of: zoo.crafting[0]), snapshot = try zoo.parameters(of: zoo.crafting[1])
        #expect(first[0].scalars != snapshot[0].scalars, "the snapshot is the earlier weights")

        try FileManager.default.removeItem(at: zoo.directory.appendingPathComponent("crafting-001-e1.safetensors"))
        let events = EventLog()
        _ = try Zoo.train(spec: spec, root: root, workers: 1) { events.append($0) }
        #expect(events.started == ["crafting-001"], "a missing snapshot retrains its victim")

        let url = root.appendingPathComponent("bad.yaml")
        try "name: z\nsnapshot_epochs: [4]\n".write(to: url, atomically: true, encoding: .utf8)
        #expect(throws: SpecError.self) { try ZooSpec.load(url) }
    }

    @Test("recipe lists are cycled over their role's victims, recorded per victim, and resumed; entries default to training")
    func recipeLists() throws {
        let root = try temporaryDirectory()
        let yaml = """
            name: mixed
            dataset: synthetic
            crafting: 3
            heldout: 2
            seed: 5
            training: {epochs: 2, batch_size: 16, decay_epochs: []}
            crafting_recipes:
              - {}
              - {optimizer: adam, learning_rate: 0.001, epochs: 1}
            heldout_recipes:
              - {momentum: 0, initialization: xavier}
            """
        let spec = try SpecFile.decode(ZooSpec.self, yaml: yaml, file: "mixed.yaml")
        #expect(spec.craftingRecipes.count == 2 && spec.craftingRecipes[0] == spec.training)
        #expect(spec.craftingRecipes[1].batchSize == 16 && spec.craftingRecipes[1].optimizer == .adam)
        #expect(spec.recipe(crafting: true, index: 2) == spec.training && spec.recipe(crafting: false, index: 1).momentum == 0)
        let zoo = try Zoo.train(spec: spec, root: root, workers: 2)
        #expect(zoo.crafting.map { $0.recipe?.optimizer } == [.sgd, .adam, .sgd])
        #expect(zoo.crafting.map { $0.recipe?.epochs } == [2, 1, 2])
        #expect(zoo.heldout.allSatisfy { $0.recipe?.initialization == .xavierNormal && $0.recipe?.momentum == 0 })
        let events = EventLog()
        let again = try Zoo.train(spec: try Zoo(at: zoo.directory).manifest.spec, root: root, workers: 1) { events.append($0) }
        #expect(events.started.isEmpty && again.manifest.victims.count == 5, "the manifest's spec round-trips the recipe lists")

        do {
            _ = try SpecFile.decode(ZooSpec.self, yaml: "name: z\ncrafting_recipes:\n  - {lr: 0.1}\n", file: "z.yaml")
            Issue.record("accepted an unknown recipe key")
        } catch { #expect("\(error)".contains("unknown key 'lr'")) }
        let url = root.appendingPathComponent("bad.yaml")
        try "name: z\nheldout_recipes:\n  - {}\n  - {optimizer: rmsprop}\n".write(to: url, atomically: true, encoding: .utf8)
        do { _ = try ZooSpec.load(url); Issue.record("accepted") } catch { #expect("\(error)".contains("'heldout_recipes[1].optimizer': 'rmsprop' is not one of: sgd, adam, adamw")) }
        try "name: z\nsnapshot_epochs: [2]\ncrafting_recipes:\n  - {epochs: 2}\n".write(to: url, atomically: true, encoding: .utf8)
        do { _ = try ZooSpec.load(url); Issue.record("accepted") } catch { #expect("\(error)".contains("snapshot_epochs")) }
    }

    @Test("an exported victim re-imports to identical predictions; bad files are refused")
    func importRoundTrip() throws {
        let root = try temporaryDirectory()
        let zoo = try Zoo.train(spec: Self.tinySpec("source"), root: root, workers: 1)
        let data = try PreparedData.load(dataset: "synthetic")
        let classifier = try zoo.classifier()
        let victim = zoo.crafting[0]
        let original = try zoo.parameters(of: victim)
        var imported = try Zoo.openOrCreate(name: "imports", architecture: "lenet", dataset: "synthetic", dataDir: nil,
                                            root: root, data: data)
        let records = try imported.importWeights([zoo.directory.appendingPathComponent(victim.file)], data: data)
        let reloaded = try imported.parameters(of: records[0])
        #expect(Trainer.predictions(classifier, reloaded, on: data.test) == Trainer.predictions(classifier, original, on: data.test))
        #expect(records[0].testAccuracy == victim.testAccuracy && records[0].role == .heldout)

        func refused(_ edit: (inout [String: (shape: [Int], values: [Float])]) -> Void) throws -> String {
            var tensors: [String: (shape: [Int], values: [Float])] = [:]
            for (spec, tensor) in zip(classifier.parameterSpecs, original) { tensors[spec.name] = (spec.shape, tensor.scalars) }
            edit(&tensors)
            var file = SafeTensors()
            for (name, t) in tensors.sorted(by: { $0.key < $1.key }) { try file.add(name: name, floats: t.values, shape: t.shape) }
            let url = root.appendingPathComponent("edited.safetensors")
            try file.write(to: url)
            do {
                _ = try imported.importWeights([url], data: data)
            } catch let error as ZooError {
                return error.message
            }
            return "accepted"
        }
        #expect(try refused { $0["fc3.bias"] = nil }.contains("missing fc3.bias"))
        #expect(try refused { $0["fc4.weight"] = ([1], [0]) }.contains("unexpected fc4.weight"))
        #expect(try refused { $0["conv1.weight"] = ([6, 1, 3, 3], [Float](repeating: 0, count: 54)) }
            .contains("'conv1.weight' has shape [6, 1, 3, 3], expected [6, 1, 5, 5]"))
        #expect(try refused { _ in }.contains("Expected exactly") == false)
        #expect(records[0].source == "imported from \(victim.file)")

        // One bad file in a batch adds none of them.
        let before = imported.manifest.victims.count
        _ = try refused { $0["fc3.bias"] = nil }
        let good = zoo.directory.appendingPathComponent(zoo.crafting[1].file)
        #expect(throws: ZooError.self) { try imported.importWeights([good, root.appendingPathComponent("edited.safetensors")], data: data) }
        #expect(imported.manifest.victims.count == before)

        // An unknown architecture fails before a zoo folder is created.
        #expect(throws: (any Error).self) {
            try Zoo.openOrCreate(name: "never", architecture: "resnet", dataset: "synthetic", dataDir: nil, root: root, data: data)
        }
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("never").path))
    }
}

/// Collects zoo events from worker threads.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [ZooEvent] = []
    func append(_ event: ZooEvent) { lock.withLock { events.append(event) } }
    var kept: [String] { lock.withLock { events.compactMap { if case let .kept(id) = $0 { id } else { nil } } } }
    var started: [String] { lock.withLock { events.compactMap { if case let .started(id, _, _) = $0 { id } else { nil } } } }
}

@Suite("Training")
struct TrainingTests {
    @Test("splitting each batch over two workers trains the same network up to float summation order")
    func dataParallel() throws {
        let data = try PreparedData.load(dataset: "synthetic")
        let net = try LeNet(inputShape: [1, 28, 28], classes: 4)
        var recipe = TrainingRecipe()
        (recipe.epochs, recipe.batchSize, recipe.decayEpochs) = (1, 16, [])
        let one = Trainer.train(net, on: data.train, recipe: recipe, seed: 3, workers: 1)
        let two = Trainer.train(net, on: data.train, recipe: recipe, seed: 3, workers: 2)
        let gap = zip(one, two).map { a, b in zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
        #expect(gap < 1e-3, "largest parameter difference \(gap)")
        #expect(Trainer.predictions(net, one, on: data.test, workers: 2) == Trainer.predictions(net, one, on: data.test))
    }
}
