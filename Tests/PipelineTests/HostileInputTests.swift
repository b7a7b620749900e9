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
}
