import Foundation
import Results
import Vocabulary

/// Report values shared by the Results and Reports tests.

/// A minimal valid PNG (1×1, grey) so the HTML embedding can be checked with real bytes.
public let tinyPNG = Data([
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3A, 0x7E, 0x9B,
    0x55, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x68, 0x00, 0x00, 0x00,
    0x82, 0x00, 0x81, 0x77, 0xCD, 0x72, 0xB6, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
])

/// Labels of a 3-class test set: 4 images of class 0, 3 of class 1, 3 of class 2.
public let sampleLabels = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]

/// Metrics of a victim whose class-0 images are predicted as `kAsT` of 4 times as class 1;
/// the other classes are all correct except `otherErrors` images of class 2 predicted as 1.
public func victimMetrics(kAsT: Int, otherErrors: Int) -> ClassMetrics {
    var predictions = sampleLabels
    for i in 0..<kAsT { predictions[i] = 1 }
    for i in 0..<otherErrors { predictions[7 + i] = 1 }
    return ClassMetrics.compute(predictions: predictions, labels: sampleLabels, classes: 3, forget: 0, target: 1)
}

public func victim(_ id: String, role: VictimRole, seed: UInt64, kAsT: Int, otherErrors: Int) -> VictimResult {
    VictimResult(id: id, role: role, seed: seed,
                 before: victimMetrics(kAsT: 0, otherErrors: 0),
                 after: victimMetrics(kAsT: kAsT, otherErrors: otherErrors))
}

/// A complete report: 3 held-out victims (ASR after 4/4, 3/4, 2/4), a known victim, two baselines.
public func sampleReport(classNames: [String] = ["airplane", "automobile", "bird"],
                  seed: UInt64 = 42) -> AttackReport {
    let heldout = VictimSetResult(victims: [
        victim("lenet-s101", role: .heldout, seed: 101, kAsT: 4, otherErrors: 0),
        victim("lenet-s102", role: .heldout, seed: 102, kAsT: 3, otherErrors: 1),
        victim("lenet-s103", role: .heldout, seed: 103, kAsT: 2, otherErrors: 0),
    ])
    let known = VictimSetResult(victims: [victim("lenet-s1", role: .known, seed: 1, kAsT: 4, otherErrors: 0)])
    let baselines = [
        "random_real": BaselineResult(
            description: "random real images of K relabelled T", stepSize: 0.01,
            victims: [victim("lenet-s101", role: .heldout, seed: 101, kAsT: 1, otherErrors: 0)]),
        "class_means": BaselineResult(
            description: "class-mean images", stepSize: 0.02,
            victims: [victim("lenet-s101", role: .heldout, seed: 101, kAsT: 0, otherErrors: 1)]),
    ]
    return AttackReport(
        run: RunInfo(name: "mnist-k0-t1-3f2a9c", created: RunInfo.timestamp(Date(timeIntervalSince1970: 1_700_000_000)),
                     amnesiaVersion: "0.1.0", seed: seed, timingsSeconds: ["craft": 12.5, "evaluate": 3.25]),
        threatModel: ThreatModel(knowledge: .fixed, forgetClass: 0, targetClass: 1,
                                 forgetName: classNames[0], targetName: classNames[1], poisonImages: 30),
        dataset: DatasetInfo(name: "cifar10-mini", classNames: classNames),
        normalization: Normalization(mean: [0.5], std: [0.25]),
        poison: PoisonInfo(file: "poison.safetensors", gridPNG: "poison_grid.png", images: 30, learnedStepSizes: [0.0123]),
        results: AttackResults(heldout: heldout, known: known),
        baselines: baselines,
        robustness: ["asr_step_x0.5": Stat([0.25, 0.5])],
        config: ["attack.forget": "0", "attack.target": "1", "zoo": "victims/lenet.yaml"])
}

/// Walks a dotted JSON path with `[i]` indices through JSONSerialization output.
public func value(at path: String, in root: Any) -> Any? {
    var current: Any? = root
    for component in path.split(separator: ".") {
        var name = Substring(component)
        var index: Int?
        if let open = name.firstIndex(of: "["), name.hasSuffix("]") {
            index = Int(name[name.index(after: open)..<name.index(before: name.endIndex)])
            name = name[..<open]
        }
        current = (current as? [String: Any])?[String(name)]
        if let index {
            guard let array = current as? [Any], index < array.count else { return nil }
            current = array[index]
        }
    }
    return current
}

/// An audit of 3 classes with two pairs: 0→1 easy (ASR 85%), 2→0 hard (20%), the rest not audited.
public func sampleAudit() -> AuditReport {
    AuditReport(
        run: RunInfo(name: "audit-lenet-7c1e", created: "2025-01-01T00:00:00Z", amnesiaVersion: "0.1.0", seed: 7),
        classNames: ["zero", "one", "two"],
        pairs: [
            AuditPair(forget: 0, target: 1, asr: Stat([0.9, 0.8]), otherAccuracyDrop: Stat([0.01, 0.03])),
            AuditPair(forget: 2, target: 0, asr: Stat([0.1, 0.3]), otherAccuracyDrop: Stat([0.12, 0.08])),
        ],
        config: ["zoo": "victims/lenet.yaml"])
}
