import Autodiff
import Datasets
import Distillation
import Formats
import Foundation
import Networks

/// A crafting run's state on disk, written atomically every few iterations so an
/// interrupted run loses at most the work since the last checkpoint.
public enum Checkpoint {
    public static func write(_ state: Crafter.State, configHash: String, to url: URL) throws {
        var file = SafeTensors(metadata: [
            "format": "amnesia.checkpoint", "config_hash": configHash, "iteration": String(state.iteration),
            "image_adam_steps": String(state.imageOptimizer.state.steps),
            "step_adam_steps": String(state.stepSizeOptimizer.state.steps),
            "label_adam_steps": String(state.labelOptimizer.state.steps),
        ])
        try add(state.images, state.imageOptimizer.state, prefix: "images", to: &file)
        try add(state.labelLogits, state.labelOptimizer.state, prefix: "label_logits", to: &file)
        try add(state.rho.map { Tensor($0) }, state.stepSizeOptimizer.state, prefix: "rho", to: &file)
        try file.add(name: "losses", floats: state.losses, shape: [state.losses.count])
        try file.write(to: url)
    }

    /// Adds tensors named `prefix.i` with their Adam moments (zeros before the first step).
    private static func add(_ tensors: [Tensor], _ adam: Adam.State, prefix: String, to file: inout SafeTensors) throws {
        for (i, tensor) in tensors.enumerated() {
            let zeros = [Float](repeating: 0, count: tensor.count)
            try file.add(name: "\(prefix).\(i)", floats: tensor.scalars, shape: tensor.shape)
            try file.add(name: "\(prefix).\(i).adam_m", floats: adam.first.isEmpty ? zeros : adam.first[i], shape: tensor.shape)
            try file.add(name: "\(prefix).\(i).adam_v", floats: adam.second.isEmpty ? zeros : adam.second[i], shape: tensor.shape)
        }
    }

    /// Reads what `add` wrote back into `tensors` (shapes from the fresh state) and `adam`.
    private static func restore(_ tensors: inout [Tensor], _ adam: inout Adam, prefix: String, steps: Int, from file: SafeTensors) throws {
        tensors = try tensors.indices.map { Tensor(shape: tensors[$0].shape, scalars: try file.floats("\(prefix).\($0)")) }
        guard steps > 0 else { return }
        adam.state = Adam.State(first: try tensors.indices.map { try file.floats("\(prefix).\($0).adam_m") },
                                second: try tensors.indices.map { try file.floats("\(prefix).\($0).adam_v") }, steps: steps)
    }

    /// Restores `fresh` (the state a new run would start from) from the file at `url`,
    /// refusing a checkpoint of a different configuration.
    public static func read(from url: URL, configHash: String, into fresh: Crafter.State) throws -> Crafter.State {
        let file = try SafeTensors(contentsOf: url)
        guard file.metadata["config_hash"] == configHash else {
            throw PoisonError("\(url.path) belongs to another configuration (hash \(file.metadata["config_hash"] ?? "none"), this run is \(configHash)); delete it or run without --resume")
        }
        func count(_ key: String) throws -> Int {
            guard let value = file.metadata[key].flatMap(Int.init) else { throw PoisonError("\(url.path): metadata '\(key)' is missing") }
            return value
        }
        var state = fresh
        try restore(&state.images, &state.imageOptimizer, prefix: "images", steps: count("image_adam_steps"), from: file)
        try restore(&state.labelLogits, &state.labelOptimizer, prefix: "label_logits", steps: count("label_adam_steps"), from: file)
        var rho = fresh.rho.map { Tensor($0) }
        try restore(&rho, &state.stepSizeOptimizer, prefix: "rho", steps: count("step_adam_steps"), from: file)
        state.rho = rho.map(\.item)
        state.losses = try file.floats("losses")
        state.iteration = try count("iteration")
        guard state.losses.count == state.iteration else {
            throw PoisonError("\(url.path) is inconsistent (its loss history does not match its iteration); delete it and start over")
        }
        return state
    }
}
