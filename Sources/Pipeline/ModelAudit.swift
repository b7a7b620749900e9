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
    /// Trains (or reuses, resuming) the zoo `audit-<model file name>` under `root` and adds
    /// the model as its held-out victim unless it is already there.
    /// `say` gets the line describing what an image folder's loading read and skipped.
    public static func zoo(model: URL, dataset: String, dataDir: String?, images: ImageOptions? = nil, crafting: Int,
                           training: TrainingRecipe, batchNorm: BatchNormMode?, root: URL, workers: Int = 2,
                           say: (String) -> Void = { _ in },
                           events: @escaping @Sendable (ZooEvent) -> Void = { _ in }) throws -> Zoo {
        let stem = SafeName.sanitized(model.deletingPathExtension().lastPathComponent)
        var spec = ZooSpec(name: "audit-\(stem)")
        (spec.architecture, spec.onnxModel, spec.dataset, spec.dataDir) = (Zoo.onnxArchitecture, model.path, dataset, dataDir)
        (spec.crafting, spec.heldout, spec.training, spec.batchNorm, spec.images) = (crafting, 0, training, batchNorm, images)
        let data = try spec.loadData(cacheIn: root.appendingPathComponent(spec.name))
        if let summary = data.summary { say(summary) }
        var zoo = try Zoo.train(spec: spec, root: root, data: data, workers: workers, events: events)
        if !zoo.heldout.contains(where: { $0.source == "imported from \(model.lastPathComponent)" }) {
            let lock = try FolderLock(zoo.directory, .exclusive, purpose: "importing into this zoo")
            defer { withExtendedLifetime(lock) {} }
            _ = try zoo.importWeights([model], role: .heldout, data: data)
        }
        return zoo
    }
}
