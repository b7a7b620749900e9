import Distillation
import Formats
import Foundation
import Pipeline
import Testing
import TestSupport
import Victims

/// Whole-run inputs an attacker or a careless user could hand Amnesia: each is refused
/// before anything is written, and nothing ever lands outside the chosen folders.
@Suite("Hostile run inputs", .serialized)
struct HostileInputTests {
    @Test("a run whose name climbs out of the reports folder is refused and writes nothing", arguments: ["../../x", "..", "."])
    func climbingRunName(_ name: String) throws {
        let box = try Sandbox()
        let zoo = try TinyWorld.zoo(root: box.root.appendingPathComponent("victims"))
        var spec = TinyWorld.attack()
        spec.name = name
        let text = errorText { _ = try AttackRun(spec: spec, zoo: zoo, reportsRoot: box.root.appendingPathComponent("reports")) }
        #expect(text.contains("name '\(name)'") && text.contains("it names a single folder"), "\(text)")
        #expect(box.escapes().isEmpty, "\(box.escapes())")
        #expect(!FileManager.default.fileExists(atPath: box.root.appendingPathComponent("reports").path))
    }

    @Test("crafting on a held-out victim or on more victims than the zoo has is refused; so is an audit template with a NaN")
    func heldoutStaysHeldout() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root)
        var fixed = TinyWorld.attack()
        fixed.knowledge = .fixed
        fixed.fixedVictim = zoo.heldout[0].id
        let text = errorText { _ = try AttackRun(spec: fixed, zoo: zoo, reportsRoot: root) }
        #expect(text.contains("fixed_victim 'heldout-000' is a held-out victim"), "\(text)")
        var wide = TinyWorld.attack()
        wide.victimsPerIteration = 4
        #expect(errorText { _ = try AttackRun(spec: wide, zoo: zoo, reportsRoot: root) }
            .contains("victims_per_iteration 4 is more than zoo 'tiny' has crafting victims (3)"))
        // An audit checks its template before hashing it (a NaN cannot be encoded).
        var template = TinyWorld.attack()
        template.retainWeight = .nan
        #expect(errorText { _ = try Audit(zoo: zoo, template: template, pairs: [(0, 1)], reportsRoot: root) }
            .contains("retain_weight must be zero or positive and finite (got nan)"))
    }

    @Test("a poison with NaN pixels is refused by evaluate before its report folder exists")
    func nanPoison() throws {
        let box = try Sandbox()
        let zoo = try TinyWorld.zoo(root: box.root.appendingPathComponent("victims"))
        var file = SafeTensors(metadata: ["dataset": "synthetic", "mean": "[0.5]", "std": "[0.2]", "K": "0", "T": "1"])
        try file.add(name: "images", floats: [Float](repeating: .nan, count: 784), shape: [1, 1, 28, 28])
        try file.add(name: "labels", int64s: [0], shape: [1])
        try file.add(name: "lrs", floats: [0.1], shape: [1])
        let url = box.root.appendingPathComponent("poison.safetensors")
        try file.write(to: url)
        let reports = box.root.appendingPathComponent("reports")
        let text = errorText { _ = try PoisonEvaluation(poisonURL: url, overrides: .init(), zoo: zoo, reportsRoot: reports) }
        #expect(text.contains("'images' value 0 is nan"), "\(text)")
        #expect(box.escapes().isEmpty && !FileManager.default.fileExists(atPath: reports.path))
    }

    @Test("a poison the victims cannot take (8×8 images for 28×28 victims) leaves no report folder behind")
    func unusablePoisonLeavesNothing() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root.appendingPathComponent("victims"))
        var file = SafeTensors(metadata: ["dataset": "synthetic", "mean": "[0.5]", "std": "[0.2]", "K": "0", "T": "1"])
        try file.add(name: "images", floats: [Float](repeating: 0.1, count: 64), shape: [1, 1, 8, 8])
        try file.add(name: "labels", int64s: [0], shape: [1])
        try file.add(name: "lrs", floats: [0.1], shape: [1])
        let url = root.appendingPathComponent("small.safetensors")
        try file.write(to: url)
        let evaluation = try PoisonEvaluation(poisonURL: url, overrides: .init(), zoo: zoo, reportsRoot: root.appendingPathComponent("reports"))
        #expect(errorText { _ = try evaluation.run() }.contains("the poison's images are [1, 8, 8] but the victims take [1, 28, 28]"))
        #expect(!FileManager.default.fileExists(atPath: evaluation.directory.path))
    }

    @Test("run, evaluate and audit refuse a zoo that victims train or import is writing, naming its pid, and write nothing")
    func readersWaitForWriters() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root.appendingPathComponent("victims"))
        let reports = root.appendingPathComponent("reports")
        let run = try AttackRun(spec: TinyWorld.attack(iterations: 4), zoo: zoo, reportsRoot: reports)
        let url = root.appendingPathComponent("poison.safetensors")
        try HostileInputTests.poisonFile().write(to: url)
        let evaluation = try PoisonEvaluation(poisonURL: url, overrides: .init(), zoo: zoo, reportsRoot: reports)
        let audit = try Audit(zoo: zoo, template: TinyWorld.attack(iterations: 4), pairs: [(0, 1)], reportsRoot: reports)
        try withExtendedLifetime(FolderLock(zoo.directory, .exclusive, purpose: "training this zoo")) {
            let busy = "another amnesia process (pid \(getpid())) is training this zoo"
            #expect(errorText { _ = try run.craft(resume: false) }.contains(busy))
            #expect(errorText { _ = try evaluation.run() }.contains(busy))
            #expect(errorText { _ = try audit.run() }.contains(busy))
        }
        #expect(!FileManager.default.fileExists(atPath: run.poisonURL.path))
        #expect(!FileManager.default.fileExists(atPath: evaluation.directory.appendingPathComponent("report.json").path))
    }

    @Test("a run's folder stays locked from crafting until its report is written: a second run cannot evaluate or write into it")
    func runHoldsItsFolder() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root.appendingPathComponent("victims"))
        let run = try AttackRun(spec: TinyWorld.attack(iterations: 4), zoo: zoo, reportsRoot: root.appendingPathComponent("reports"))
        let locks = try run.lock()
        let poison = try #require(try run.craft(resume: false, locks: locks)).poison
        let twin = try AttackRun(spec: TinyWorld.attack(iterations: 4), zoo: zoo, reportsRoot: root.appendingPathComponent("reports"))
        let busy = "another amnesia process (pid \(getpid())) is crafting or evaluating this run"
        #expect(errorText { _ = try twin.craft(resume: false) }.contains(busy))
        #expect(errorText { _ = try twin.evaluate(poison) }.contains(busy))
        let report = try run.evaluate(poison, locks: locks)
        #expect(errorText { try twin.write(report) }.contains(busy))
        try run.write(report, locks: locks)
        withExtendedLifetime(locks) {}
    }

    /// A valid one-image poison for the tiny zoo, with `metadata` replacing its defaults.
    static func poisonFile(_ metadata: [String: String] = [:]) throws -> SafeTensors {
        var file = SafeTensors(metadata: ["dataset": "synthetic", "mean": "[0.5]", "std": "[0.2]", "K": "0", "T": "1"]
            .merging(metadata) { $1 })
        try file.add(name: "images", floats: [Float](repeating: 0.1, count: 784), shape: [1, 1, 28, 28])
        try file.add(name: "labels", int64s: [1], shape: [1])
        try file.add(name: "lrs", floats: [0.1], shape: [1])
        return file
    }

    @Test("evaluate refuses K = T and a zoo without held-out victims instead of scoring them")
    func evaluateNeedsAnAttackAndVictims() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root.appendingPathComponent("victims"))
        let url = root.appendingPathComponent("same.safetensors")
        try HostileInputTests.poisonFile(["T": "0"]).write(to: url)
        let reports = root.appendingPathComponent("reports")
        let same = errorText { _ = try PoisonEvaluation(poisonURL: url, overrides: .init(), zoo: zoo, reportsRoot: reports) }
        #expect(same.contains("same.safetensors: K = T = 0"), "\(same)")

        var spec = ZooSpec(name: "no-heldout")
        spec.dataset = "synthetic"
        (spec.crafting, spec.heldout, spec.training.epochs) = (1, 0, 1)
        let lonely = try Zoo.train(spec: spec, root: root.appendingPathComponent("victims"), workers: 1)
        try HostileInputTests.poisonFile().write(to: url)
        let empty = errorText { _ = try PoisonEvaluation(poisonURL: url, overrides: .init(), zoo: lonely, reportsRoot: reports) }
        #expect(empty.contains("zoo 'no-heldout' has no held-out victims"), "\(empty)")
        #expect(!FileManager.default.fileExists(atPath: reports.path))
    }

    @Test("a checkpoint with a NaN or a wrong shape is refused on resume, naming the file and tensor")
    func corruptCheckpoint() throws {
        let root = try temporaryDirectory()
        let zoo = try TinyWorld.zoo(root: root.appendingPathComponent("victims"))
        let run = try AttackRun(spec: TinyWorld.attack(iterations: 20), zoo: zoo, reportsRoot: root.appendingPathComponent("reports"))
        let calls = Counter()
        #expect(try run.craft(resume: false, checkpointEvery: 5, shouldStop: { calls.next() > 7 }) == nil)
        let url = run.directory.appendingPathComponent("checkpoint.safetensors")
        let saved = try SafeTensors(contentsOf: url)
        func spoiled(_ name: String, _ edit: ([Float], [Int]) -> ([Float], [Int])) throws -> String {
            var file = SafeTensors(metadata: saved.metadata)
            for tensor in saved.names {
                let (values, shape) = try (saved.floats(tensor), saved.shape(of: tensor))
                let (newValues, newShape) = tensor == name ? edit(values, shape) : (values, shape)
                try file.add(name: tensor, floats: newValues, shape: newShape)
            }
            try file.write(to: url)
            return errorText { _ = try run.craft(resume: true, checkpointEvery: 5) }
        }
        let nan = try spoiled("images.0") { values, shape in ([.nan] + values.dropFirst(), shape) }
        #expect(nan.contains("checkpoint.safetensors: 'images.0' value 0 is nan"), "\(nan)")
        let moment = try spoiled("images.0.adam_v") { values, shape in (values.dropLast() + [.infinity], shape) }
        #expect(moment.contains("'images.0.adam_v' value"), "\(moment)")
        let shape = try spoiled("images.0") { values, shape in (Array(values.dropLast(values.count / 2)), [shape[0] / 2] + shape.dropFirst()) }
        #expect(shape.contains("'images.0' has shape"), "\(shape)")
        let huge = try spoiled("images.0") { values, shape in ([1e6] + values.dropFirst(), shape) }
        #expect(huge.contains("cannot resume from this checkpoint") && huge.contains("'images' value 0 is 1000000.0"), "\(huge)")
        #expect(!FileManager.default.fileExists(atPath: run.poisonURL.path))
    }
}
