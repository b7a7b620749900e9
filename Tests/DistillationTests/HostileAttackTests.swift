import Autodiff
import Distillation
import Formats
import Foundation
import Poisoning
import Specs
import TestSupport
import Testing

/// Attack specs and poison files an attacker or a careless user could hand Amnesia: each
/// is an error naming the key or tensor, the value and the rule, never a trap or a report
/// that measures nothing.
@Suite("Hostile attack specs and poison files")
struct HostileAttackTests {
    func specError(_ lines: String, name: String = "a") throws -> String {
        let url = try temporaryDirectory().appendingPathComponent("attack.yaml")
        try "name: \(name)\nzoo: z\nforget: 0\ntarget: 1\n\(lines)\n".write(to: url, atomically: true, encoding: .utf8)
        let text = errorText { _ = try AttackSpec.load(url) }
        #expect(text.hasPrefix(url.path), "\(text)")
        return text
    }

    @Test("names that become folders are one safe path component", arguments: ["'../../x'", "'..'", "'.'", "'a/b'", "''"])
    func climbingNames(_ value: String) throws {
        #expect(try specError("", name: value).contains("it names a single folder"))
        var spec = AttackSpec(name: "a", zoo: "z", forget: "0", target: "1")
        spec.zoo = String(value.dropFirst().dropLast())
        #expect(spec.problem?.contains("zoo '") == true)
    }

    @Test("untrusted numbers are errors naming the key and the limit", arguments: [
        ("images_per_class: 100000000000", "images_per_class must be 1…1000"),
        ("real_batch_size: 9223372036854775807", "real_batch_size must be 1…10000"),
        ("steps: 4611686018427387904\nepochs: 4", "steps × epochs must be at most 1000"),
        ("epochs: 1000000", "steps × epochs must be at most 1000"),
        ("victims_per_iteration: 0", "victims_per_iteration must be 1…"),
        ("iterations: 0", "iterations must be at least 1"),
        ("initial_step_size: .nan", "initial_step_size must be positive and finite"),
        ("retain_weight: .inf", "retain_weight must be zero or positive and finite"),
        ("optimizer:\n  learning_rate: -0.01", "optimizer.learning_rate must be zero or positive"),
        ("optimizer:\n  step_size_learning_rate: .nan", "optimizer.step_size_learning_rate"),
        ("optimizer:\n  beta1: 1", "optimizer.beta1 must be in [0, 1)"),
        ("optimizer:\n  beta2: -0.5", "optimizer.beta2 must be in [0, 1)"),
        ("optimizer:\n  decay: 0", "optimizer.decay must be positive"),
        ("method: ncfm\nncfm:\n  frequencies: 1000000000", "ncfm.frequencies must be 1…65536 (got 1000000000)"),
        ("robustness:\n  augment:\n    shift: 4611686018427387904", "robustness.augment.shift must be 0…64"),
        ("robustness:\n  step_scale: [0.5, .inf]", "robustness.step_scale must be [low, high]"),
        ("robustness:\n  margin: .inf", "robustness.margin must be zero or positive and finite"),
        ("robustness:\n  weight_augmentation: .inf", "robustness.weight_augmentation"),
        ("robustness:\n  validation_victims: 9223372036854775807", "robustness.validation_victims must be 1…1000"),
        ("method: gradient-matching\nsteps: 1\ngradient_matching:\n  real_per_class: 100000000", "gradient_matching.real_per_class must be 1…10000"),
        ("method: trajectory-matching\ntrajectory_matching:\n  target_steps: 100000000", "trajectory_matching.target_steps must be 1…1000"),
        ("objective: standard\nmethod: expert-trajectories\nexpert_trajectories:\n  synthetic_steps: 100000000", "expert_trajectories.synthetic_steps must be 1…1000 (got 100000000)"),
    ])
    func badNumbers(_ lines: String, _ message: String) throws {
        let text = try specError(lines)
        #expect(text.contains(message), "\(text)")
    }

    @Test("a value of the wrong type is located by line and column")
    func located() throws {
        #expect(try specError("optimizer:\n  beta1: high").contains("'optimizer.beta1' should be a number"))
        #expect(try specError("optimizer:\n  beta1: high").contains("line 6, column 10"))
    }

    /// The parts of a valid two-image poison file, for a test to spoil one of.
    struct PoisonParts {
        var metadata = ["dataset": "synthetic", "mean": "[0.5]", "std": "[0.2]", "K": "0", "T": "1"]
        var images: (values: [Float], shape: [Int]) = ([0.1, -0.2, 0.3, 0.4, 0.5, 0.6, -0.7, 0.8], [2, 1, 2, 2])
        var labels: [Int64] = [0, 1]
        var lrs: [Float] = [0.05]
        var softLabels: (values: [Float], shape: [Int])?
    }

    func poisonError(_ edit: (inout PoisonParts) -> Void) throws -> String {
        var parts = PoisonParts()
        edit(&parts)
        var file = SafeTensors(metadata: parts.metadata)
        try file.add(name: "images", floats: parts.images.values, shape: parts.images.shape)
        try file.add(name: "labels", int64s: parts.labels, shape: [parts.labels.count])
        try file.add(name: "lrs", floats: parts.lrs, shape: [parts.lrs.count])
        if let soft = parts.softLabels { try file.add(name: "soft_labels", floats: soft.values, shape: soft.shape) }
        let url = try temporaryDirectory().appendingPathComponent("poison.safetensors")
        try file.write(to: url)
        return errorText { _ = try PoisonSet(contentsOf: url) }
    }

    @Test("non-finite or huge pixels, bad step sizes, negative labels and improper soft labels are refused")
    func poisonValues() throws {
        #expect(try poisonError { _ in } == "accepted")
        let cases: [((inout PoisonParts) -> Void, String)] = [
            ({ $0.images.values[1] = .nan }, "'images' value 1 is nan"),
            ({ $0.images.values[3] = 1e30 }, "'images' value 3 is 1e+30"),
            ({ $0.lrs = [-0.1] }, "'lrs' value 0 is -0.1; step sizes must be positive"),
            ({ $0.lrs = [0] }, "'lrs' value 0 is 0.0"),
            ({ $0.lrs = [.nan] }, "'lrs' value 0 is nan"),
            ({ $0.lrs = [.infinity] }, "'lrs' value 0 is inf"),
            ({ $0.softLabels = ([0.9, 0.1, 3, 0], [2, 2]) }, "'soft_labels' value 2 is 3.0"),
            ({ $0.softLabels = ([0.9, 0.1, 0.5, 0.4], [2, 2]) }, "'soft_labels' row 1 sums to 0.9"),
            ({ $0.softLabels = ([1.2, -0.2, 0.5, 0.5], [2, 2]) }, "'soft_labels' value 0 is 1.2"),
            ({ $0.labels = [0, -3] }, "'labels' value 1 is -3"),
            ({ $0.metadata["steps"] = "1"; $0.metadata["epochs"] = "1000000" }, "must be at most 1000 inner updates"),
            ({ $0.metadata["steps"] = "2"; $0.metadata["epochs"] = "9223372036854775807" }, "must be at most 1000 inner updates"),
            ({ $0.images = ([], [0, 1, 2, 2]); $0.labels = [] }, "with M ≥ 1"),
            ({ $0.metadata["std"] = "[0]" }, "metadata 'std' value 0 is 0.0; a std is the spread the images were divided by, so it must be > 0"),
            ({ $0.metadata["std"] = "-0.3" }, "metadata 'std' value 0 is -0.3"),
        ]
        for (edit, message) in cases {
            let text = try poisonError(edit)
            #expect(text.contains(message) && text.contains("poison.safetensors"), "\(text)")
        }
    }

    @Test("a --defense parameter given twice is refused, not read as its last value")
    func repeatedDefenseParameter() throws {
        let text = errorText { _ = try DefenseSpec(commandLine: "gate:max_drop=0.1,max_drop=0.2") }
        #expect(text.contains("--defense gate:max_drop=0.1,max_drop=0.2") && text.contains("parameter 'max_drop' is given twice"), "\(text)")
        #expect(try DefenseSpec(commandLine: "gate:max_drop=0.1").parameters == ["max_drop": 0.1])
    }
}
