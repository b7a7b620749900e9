import Datasets
import Formats
import Foundation
import ONNX
import Specs
import Victims

/// `amnesia audit --model model.onnx`: the zoo an audit of the user's own model runs on.
/// Its crafting victims are trained on the model's architecture (PyTorch's initialization,
/// the given recipe); its held-out victim is the user's model itself, so the matrix says
/// how a poison crafted without its weights moves that very model.
public enum ModelAudit {
    /// Crafting victims trained when the user does not say.
    public static let defaultCrafting = 8

    /// Trains (or reuses, resuming) the zoo `zooName(…)` under `root` and adds the model as
    /// its held-out victim unless its weights are already there; a model file that changed
    /// since its import replaces the weights imported from it.
    /// `say` gets the line describing what an image folder's loading read and skipped.
    /// - Throws: `ZooError` naming what differs when that folder holds crafting victims
    ///   trained for another dataset, data folder, image reading or model file.
    public static func zoo(model: URL, dataset: String, dataDir: String?, images: ImageOptions? = nil, crafting: Int,
                           training: TrainingRecipe, batchNorm: BatchNormMode?, root: URL, workers: Int = 2,
                           say: (String) -> Void = { _ in },
                           events: @escaping @Sendable (ZooEvent) -> Void = { _ in }) throws -> Zoo {
        var spec = ZooSpec(name: zooName(model: model, crafting: crafting, training: training, batchNorm: batchNorm))
        (spec.architecture, spec.onnxModel, spec.dataset, spec.dataDir) = (Zoo.onnxArchitecture, model.path, dataset, dataDir)
        (spec.crafting, spec.heldout, spec.training, spec.batchNorm, spec.images) = (crafting, 0, training, batchNorm, images)
        try checkEarlierZoo(spec, root: root)
        let data = try spec.loadData(cacheIn: root.appendingPathComponent(spec.name))
        if let summary = data.summary { say(summary) }
        var zoo = try Zoo.train(spec: spec, root: root, data: data, workers: workers, events: events)
        let earlier = zoo.heldout.filter { $0.source == "imported from \(model.lastPathComponent)" }
        let digest = try earlier.isEmpty ? nil : zoo.importedDigest(of: model)
        if !earlier.contains(where: { $0.sha256 == digest }) {
            let lock = try FolderLock(zoo.directory, .exclusive, purpose: "importing into this zoo")
            defer { withExtendedLifetime(lock) {} }
            if !earlier.isEmpty {
                say("\(model.lastPathComponent) holds other weights than when the audit imported it into \(zoo.directory.path): the audit scores the new ones")
                try zoo.removeImported(earlier.map(\.id))
            }
            _ = try zoo.importWeights([model], role: .heldout, data: data)
        }
        return zoo
    }

    /// `audit-<model file name>`, followed by what the audit sets away from the defaults:
    /// `-c<N>` for N crafting victims, `-recipe-<hash>` for a stated recipe, `-bn-<mode>`,
    /// so a changed setting trains a zoo of its own instead of meeting one trained otherwise.
    public static func zooName(model: URL, crafting: Int, training: TrainingRecipe, batchNorm: BatchNormMode?) -> String {
        var name = "audit-" + SafeName.sanitized(model.deletingPathExtension().lastPathComponent)
        if crafting != defaultCrafting { name += "-c\(crafting)" }
        if training != TrainingRecipe() {
            name += "-recipe-" + String(SHA256.hex((try? CanonicalJSON.encode(training)) ?? Data()).prefix(8))
        }
        if let batchNorm { name += "-bn-\(batchNorm.rawValue)" }
        return name
    }

    /// Refuses a folder whose crafting victims were trained for other inputs (dataset, data
    /// folder, image reading, model file): the name does not carry those, so the message
    /// says which differ and how to keep both or start again.
    static func checkEarlierZoo(_ spec: ZooSpec, root: URL) throws {
        let directory = root.appendingPathComponent(spec.name)
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("manifest.json").path) else { return }
        let earlier = try Zoo(at: directory).manifest
        guard !earlier.victims.isEmpty, earlier.spec != spec else { return }
        let (old, new) = try (JSONSerialization.jsonObject(with: CanonicalJSON.encode(earlier.spec)) as? [String: Any] ?? [:],
                              JSONSerialization.jsonObject(with: CanonicalJSON.encode(spec)) as? [String: Any] ?? [:])
        /// A value as compact JSON: one line, whatever its shape.
        func text(_ value: Any?) -> String {
            guard let value else { return "(none)" }
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
            return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
        }
        let described = Set(old.keys).union(new.keys).sorted().filter { text(old[$0]) != text(new[$0]) }.map { key in
            "\(key) \(text(old[key])) then, \(text(new[key])) now"
        }
        throw ZooError("\(directory.path) holds the crafting victims of an earlier audit with other settings (\(described.joined(separator: "; "))). "
            + "Audit with the earlier settings to reuse them, give another --victims-dir to keep both, or delete that folder to train anew")
    }
}
